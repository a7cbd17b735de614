"""MODEL_CARD.md written from a run's metadata, so that every number in it was measured by that run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engines.files import file_digest
from training.fonts import FAMILIES

TEST_SET_NOTES = {
    "mnist-test": "real handwritten digits: MNIST test-split images 8000-8999 of `../shared/data/mnist-t10k-part`",
    "comnist-test": "real handwritten uppercase letters: the CoMNIST files whose name hash falls in the test split",
    "synthetic-heldout-fonts": "augmented glyphs of all 62 classes rendered from the held-out fonts only",
    "rendered-heldout-fonts": "each held-out font's glyphs rendered at 24, 36 and 64 px, normalised, not augmented",
}
GAPS = """\
- **No real EMNIST.** EMNIST cannot be downloaded on the machines that trained this model. Real
  handwriting in the training data is limited to 7,000 MNIST digits and ~300 CoMNIST uppercase
  letters; everything else is synthetic (fonts + augmentation). Accuracy on real EMNIST is unknown.
  With the EMNIST files, `ocr train-cnn --emnist-dir DIR` trains on them (see `docs/cnn.md`).
- **No real lowercase.** Lowercase letters were only ever seen as font glyphs; their accuracy on
  real handwriting is not measured here and will be lower than on the synthetic test sets.
- **Case look-alikes.** A 28x28 glyph normalised to its ink box has no size left, so c/C, o/O, s/S,
  u/U, v/V, w/W, x/X, z/Z (and 0/O/o, 1/l/I, 9/g/q) are told apart by shape only; the probabilities
  say so (case-insensitive accuracy is reported beside exact accuracy). Character mode reports them
  as they come out; text mode takes the case of c o s u v w x z from the glyph's height in its line.
- **One character per crop.** Text mode segments a crop by connected components (see
  `engines/segment.py`); joined cursive handwriting is not segmented correctly, and with no
  "not a character" class a blob of two touching letters is often read confidently as one letter
  (rates measured in `docs/cnn.md`). No punctuation classes.
"""


def _metric_rows(metrics: dict[str, Any]) -> list[str]:
    rows = [
        "| set | group | n | accuracy | case-insensitive | top-5 | mean confidence | ECE |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in metrics.items():
        rows.append(
            f"| {name} | all | {result['n']} | {result['accuracy']:.4f} | {result['case_insensitive']:.4f} "
            f"| {result['top5']:.4f} | {result['mean_confidence']:.4f} | {result['ece']:.4f} |"
        )
        if len(result["groups"]) > 1:
            for group, scores in result["groups"].items():
                rows.append(
                    f"| {name} | {group} | {scores['n']} | {scores['accuracy']:.4f} "
                    f"| {scores['case_insensitive']:.4f} | | | |"
                )
    return rows


def _font_rows(used: set[str]) -> list[str]:
    rows = ["| family | Debian package | licence | use |", "| --- | --- | --- | --- |"]
    for family in FAMILIES:
        if family.name in used:
            use = "test only (held out)" if family.held_out else f"train ({len(family.chars)} classes)"
            rows.append(f"| {family.name} | `{family.package}` | {family.licence} | {use} |")
    return rows


def render_card(metadata: dict[str, Any], digests: dict[str, str]) -> str:
    """The text of MODEL_CARD.md."""
    training = metadata["training"]
    metrics = metadata["metrics"]
    tests = {k: v for k, v in metrics.items() if k in TEST_SET_NOTES or k.endswith("-test")}
    vals = {k: v for k, v in metrics.items() if k not in tests}
    fonts = set(training["fonts"]) | set(training["held_out_fonts"])
    lines = [
        f"# emnist_cnn {metadata['version']}: character CNN for the 62 EMNIST ByClass classes",
        "",
        f"A {metadata['parameters']:,}-parameter CNN (3 conv blocks, global average pooling, one linear layer)",
        "trained in PyTorch and served as ONNX by `engines/emnist_cnn.py` (onnxruntime). Input: one 28x28",
        "white-on-black glyph normalised by `engines/glyph.py`; output: probabilities over",
        f"`{metadata['classes']}`.",
        "",
        "Intended use: one vote among the service's engines for single handwritten or printed characters",
        "and, through `engines/segment.py`, for words and lines. Not a stand-alone handwriting reader.",
        "",
        "## Data",
        "",
        "| part | glyphs |",
        "| --- | ---: |",
        *[f"| {name} | {count:,} |" for name, count in training["parts"].items()],
        "",
        "- MNIST digits (test split, first 9,000 images), LeCun, Cortes, Burges, CC BY-SA 3.0. Read in place",
        "  from `../shared/data/mnist-t10k-part`, never copied: images 0-6999 train, 7000-7999 validation,",
        "  8000-8999 test.",
        "- CoMNIST uppercase Latin letters, Gregoire Vial, CC BY-SA 4.0, read in place from",
        "  `../shared/data/comnist-upper`; split by a hash of each file name (60 % train, 10 % validation,",
        "  30 % test).",
        "- Synthetic glyphs rendered from Debian font packages, augmented for handwriting (elastic",
        "  distortion, rotation/shear/scale, pen width, blur, noise), normalised like EMNIST:",
        "",
        *_font_rows(fonts),
        "",
        "Every epoch draws its glyphs with equal weight per class (with replacement), so the MNIST digits",
        "do not tilt the prior towards digits.",
        "",
        "## Training",
        "",
        "```sh",
        training["command"],
        "```",
        "",
        f"Seed {training['data']['seed']}, {training['config']['threads']} CPU thread(s), torch {training['torch']}. "
        f"{training['epochs_run']} epochs run, best epoch {training['best_epoch']} (validation loss "
        f"{training['best_val_loss']}); data built in {training['data_seconds']} s, whole run "
        f"{training['total_seconds']} s on {training.get('machine', 'this machine')}.",
        "History: `history.csv`, `history.png`. Confusions over all test sets: `confusion.png`.",
        "",
        "To reproduce: `deploy/local/system-deps.sh training` (the fonts), `pip install -r",
        "requirements-training.txt`, `../shared/data` beside the repository, then the command above. Data",
        "and shuffling are seeded and torch runs deterministic algorithms; the same seed, thread count and",
        "library versions give the same weights on the same machine (other thread counts or CPUs may",
        "differ in the last bits).",
        "",
        "## Metrics of the shipped ONNX model",
        "",
        "Test sets (never trained on, never used to choose the epoch):",
        "",
        *[f"- `{name}`: {note}" for name, note in TEST_SET_NOTES.items() if name in tests],
        "",
        *_metric_rows(tests),
        "",
        "Validation sets (used for early stopping and learning-rate decisions):",
        "",
        *_metric_rows(vals),
        "",
        "ECE: expected calibration error over 15 confidence bins (0 = confidences match accuracy).",
        f"ONNX vs torch: largest probability difference {metadata['onnx_torch_max_abs_diff']:.2e}.",
        "",
        "Most frequent confusions over the test sets (true -> predicted: count): "
        + ", ".join(f"{c['true']}->{c['predicted']}: {c['count']}" for c in metadata["top_confusions"])
        + ".",
        "",
        "## Known gaps",
        "",
        GAPS,
        "## Files (sha256)",
        "",
        "The engine refuses to load `model.onnx` unless its sha256 equals the one in `metadata.json`.",
        "",
        *[f"- `{name}`: `{digest}`" for name, digest in digests.items()],
        "",
    ]
    return "\n".join(lines)


def write_model_card(out_dir: Path, metadata: dict[str, Any]) -> None:
    """Write MODEL_CARD.md next to the model files it describes."""
    names = [*metadata["files"], "metadata.json"]
    digests = {name: file_digest(out_dir / name) for name in names}
    (out_dir / "MODEL_CARD.md").write_text(render_card(metadata, digests))
