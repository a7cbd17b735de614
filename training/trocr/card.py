"""MODEL_CARD.md for a trained small TrOCR, from its ``training.json`` and ``metrics.json``."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

from engines.files import file_digest
from training.fonts import FAMILIES

SET_DESCRIPTIONS = {
    "heldout-fonts-augmented": "synthetic words and lines in the held-out fonts, augmented like the training data",
    "heldout-fonts-clean": "the same kind of text in the held-out fonts, drawn clean (no augmentation)",
    "real-handwriting-words": "digit strings (MNIST test images 8000-8999) and capitalised words (CoMNIST held-out"
    " split) composed from real handwritten glyphs set side by side",
}


def _fonts_table(training: dict[str, Any]) -> list[str]:
    used = set(training["train_fonts"]) | set(training["held_out_fonts"])
    rows = ["| family | Debian package | licence | use |", "| --- | --- | --- | --- |"]
    for family in FAMILIES:
        if family.name in used:
            use = "validation and test only (held out)" if family.held_out else "train"
            rows.append(f"| {family.name} | `{family.package}` | {family.licence} | {use} |")
    return rows


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    rows = ["| test set | items | CER | exact match |", "| --- | ---: | ---: | ---: |"]
    for name, result in metrics["sets"].items():
        rows.append(f"| `{name}` | {result['items']} | {result['cer']:.4f} | {result['exact']:.3f} |")
    rows.append("")
    rows.extend(f"- `{name}`: {SET_DESCRIPTIONS.get(name, name)}" for name in metrics["sets"])
    return rows


def _examples(metrics: dict[str, Any]) -> list[str]:
    rows = ["| set | truth | read |", "| --- | --- | --- |"]
    for name, result in metrics["sets"].items():
        rows.extend(f"| {name} | `{e['truth']}` | `{e['read']}` |" for e in result["examples"][:4])
    return rows


def write_card(directory: Path, metrics: dict[str, Any], eval_command: str) -> Path:
    """Write ``directory/MODEL_CARD.md``; every number comes from the two JSON records."""
    training = json.loads((directory / "training.json").read_text(encoding="utf-8"))
    spec = training["config"]["spec"]
    best = training["best"]
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.name != "MODEL_CARD.md")
    lines = [
        f"# trocr_small_synth {directory.name}: a small TrOCR trained on synthetic lines",
        "",
        f"A {training['parameters']:,}-parameter `VisionEncoderDecoderModel` of the TrOCR architecture: a ViT",
        f"encoder ({spec['encoder_layers']} layers, hidden {spec['hidden_size']}, {spec['heads']} heads, input"
        f" {spec['image_height']}x{spec['image_width']}, patches {spec['patch_height']}x{spec['patch_width']})"
        f" and a TrOCR decoder ({spec['decoder_layers']} layers),",
        f"with a byte-level BPE tokenizer of {spec['vocab_size']} tokens trained with `tokenizers` on the",
        "training text. Served by `engines/trocr.py` (transformers) like Microsoft's checkpoints; its",
        "`ocr_engine.json` tells the adapter to pad crops to the input's aspect instead of stretching them.",
        "",
        "Intended use: one vote among the service's engines for printed and handwriting-style words and short",
        "lines (up to ~32 characters), offline, when no official TrOCR checkpoint is configured. It never saw",
        "real handwriting in training; it is far weaker than `microsoft/trocr-base-handwritten`.",
        "",
        "## Data",
        "",
        "Synthetic only, drawn fresh for every batch (seeded): text from `training/trocr/corpus.py`",
        "(words of Debian's `wamerican` word list, public domain, in lower/Title/UPPER case; phrases of 2-6",
        "words with punctuation; numbers, prices, dates, times, phone numbers; letter-digit codes; random",
        "printable ASCII strings; single characters), rendered by `training/trocr/render.py` from the",
        "training fonts and augmented: pen thickness, slant, horizontal squeeze, rotation, perspective",
        "jitter, paper level, gradient, texture and ruled lines, blur, low resolution, sensor noise, JPEG.",
        "",
        *_fonts_table(training),
        "",
        "## Training",
        "",
        "```sh",
        training["command"],
        "```",
        "",
        f"{best.get('samples', 0):,} samples ({best.get('step', 0):,} steps of {training['config']['batch_size']}),"
        f" {training['config']['minutes']} minutes budget, AdamW lr {training['config']['learning_rate']}"
        f" (warm-up, cosine), seed {training['config']['seed']}, {training['config']['threads']} CPU thread(s)"
        f" on {platform.machine()} Linux (2-core VM), no GPU.",
        f"Validation (fixed {training['config']['val_count']} augmented samples in the held-out fonts, read through",
        "the adapter) every few minutes; the checkpoint with the lowest validation CER is the one shipped:",
        "",
        "| step | samples | minutes | loss | validation CER | exact |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {h['step']} | {h['samples']} | {h['minutes']} | {h['loss']} | {h['cer']} | {h['exact']} |"
            for h in training["history"]
        ),
        "",
        "The encoder is trained with an auxiliary CTC loss on its patch columns (`training/trocr/ctc_aux.py`,",
        "weight 1, dropped after training). Two earlier recipes on the same CPU budget never left the",
        "decoder's language-model plateau (validation CER 0.94 after 708 steps with 16x4 patches in two rows",
        "and no CTC; 0.91 after 719 steps with CTC weight 0.3): full-height 32x4 column patches, so the",
        "decoder only has to learn a left-to-right alignment, and the CTC loss are what made it learn.",
        "",
        "To reproduce: `deploy/local/system-deps.sh training` (fonts and word list), `pip install -r",
        "requirements-training.txt`, then the command above. Data are seeded; run time decides the step count,",
        "so another machine gets a different number of steps.",
        "",
        "## Metrics",
        "",
        f"`{eval_command}` (greedy decoding through the engine adapter, CPU):",
        "",
        *_metrics_table(metrics),
        "",
        "Some readings:",
        "",
        *_examples(metrics),
        "",
        "## Files",
        "",
        "| file | sha256 |",
        "| --- | --- |",
        *(f"| `{p.name}` | `{file_digest(p)}` |" for p in files),
        "",
    ]
    path = directory / "MODEL_CARD.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
