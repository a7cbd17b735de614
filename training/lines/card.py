"""MODEL_CARD.md and metadata.json for a trained line recognizer, from its training record and scores.

    python -m training.lines.card models/line_reader/v1 [--scores bench/line_reader_scores.json]

``training.json`` is written by the training run; the scores file by ``bench/line_reader_real.py`` (kept-
apart real lines per group with 95% intervals, speed and memory). The card lists every data source
with its licence, the command, the scores and the sha256 of each shipped file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engines.files import file_digest
from training.lines.charset import LINE_CHARSET
from training.lines.data import LICENSED_FIT_SOURCES
from training.lines.release import write_metadata
from training.lines.synth import LINE_FONT_FAMILIES

REAL_TRAIN_SOURCES = (
    ("HTR-United/CREMMA-MSS-18 @ e4a8914", "18th-c. French manuscripts", "CC BY 4.0"),
    ("HTR-United/CREMMA-MSS-19 @ d8f466d", "19th-c. French manuscripts", "CC BY 4.0"),
    ("alix-tz/peraire-ground-truth @ 61b321e", "20th-c. French notebooks", "CC BY 4.0"),
    ("HTR-United/lectaurep-bronod @ 1b4ac12", "18th-c. Paris notary's repertory", "CC BY 4.0"),
    ("pstroe/bullinger-htr @ 0606474", "16th-c. German letters", "CC BY-SA 4.0"),
    ("Gallicorpora/HTR-imprime-18e-siecle @ f22104f", "18th-c. French prints", "CC0 1.0"),
    ("Gallicorpora/HTR-imprime-17e-siecle @ e03cc1b", "17th-c. French prints", "CC0 1.0"),
    ("FoNDUE-HTR/FONDUE-MLT-ART @ 08d6e83", "19th-c. German Antiqua catalogues", "CC BY (README)"),
)
TRAIN_COMMAND = (
    "python -m training.lines.train --out models/line_reader/v1 --work /work/line-train --steps 1600 --budget-min 85"
)


def _interpolation_lines(training: dict[str, Any]) -> list[str]:
    mix = training.get("interpolation")
    if not mix:
        return []
    chosen = ", ".join(f"alpha {a}: mean CER {v['mean']:.2%}" for a, v in sorted(mix["chosen_on"].items()))
    return [
        f"- shipped weights: {mix['what']}, alpha = {mix['alpha']}:",
        f"  `python -m training.lines.interpolate best.pt models/line_reader/v1 --alpha {mix['alpha']}`;",
        "  alpha chosen by `python -m training.lines.choose best.pt` on untrained fit-part lines (40 per group,",
        f"  mean of the groups' CER): {chosen}",
        "- the validation table below is the fine-tuned weights' (alpha = 1), before the averaging",
    ]


def _data_rows(training: dict[str, Any]) -> list[str]:
    rows = ["| part:group | lines | documents |", "| --- | ---: | ---: |"]
    rows += [f"| {key} | {v['lines']} | {v['documents']} |" for key, v in training["data"].items()]
    return rows


def _validation_rows(training: dict[str, Any]) -> list[str]:
    scores = training.get("validation") or {}
    rows = ["| group | lines | CER |", "| --- | ---: | ---: |"]
    rows += [f"| {group} | {v['lines']} | {v['cer']:.2%} |" for group, v in scores.items()]
    return rows


def _score_rows(scores: dict[str, Any]) -> list[str]:
    rows = [
        "| test set (kept apart) | items | line_reader CER [95% CI] | PP-OCR CER [95% CI] |",
        "| --- | ---: | --- | --- |",
    ]
    for name, entry in scores.get("groups", {}).items():
        ours, theirs = entry["line_reader"], entry["paddleocr"]
        rows.append(
            f"| {name} | {entry['items']} | {ours['cer']:.2%} [{ours['low']:.2%}, {ours['high']:.2%}] "
            f"| {theirs['cer']:.2%} [{theirs['low']:.2%}, {theirs['high']:.2%}] |"
        )
    return rows


def render_card(directory: Path, training: dict[str, Any], scores: dict[str, Any]) -> str:
    """The card's Markdown."""
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.name != "MODEL_CARD.md")
    lines = [
        "# line_reader v1: our line recognizer",
        "",
        "PP-OCRv6-small's recognition network (from the `rapidocr==3.10.0` wheel, Apache-2.0) with its",
        f"18,710-way head replaced by one over {len(LINE_CHARSET)} characters (Latin with accents, long s,",
        "r rotunda, combining superscript e and o, the line-end hyphen `¬`, the double hyphen `⸗`),",
        "fine-tuned with CTC on real handwritten and historical printed lines plus rendered ones.",
        "Input: a gray line scaled to 48 px high (`engines/line_input.py`); output: CTC probabilities",
        "per 8 px column (`probabilities`), the character list in the ONNX metadata (`character`).",
        "Engine: `engines/line_reader.py` (`line_reader`).",
        "",
        "## Data and licences",
        "",
        "Real lines (`../shared/data/real-train`, training only; split by document: the validation documents",
        "below were never trained on):",
        "",
        "| source | what | licence |",
        "| --- | --- | --- |",
        *(f"| {repo} | {what} | {licence} |" for repo, what, licence in REAL_TRAIN_SOURCES),
        "",
        "Licensed parts of `../shared/data/real-fit` and `real-fit-en`: only the fit part (never the 20% kept",
        "apart), and of it only half of the pages (by a hash of the page), so that the presets are fitted on",
        "lines this model never saw. Sources (licence of the transcriptions as their READMEs state):",
        "",
        *(f"- `{name}`: {licence}" for name, licence in sorted(LICENSED_FIT_SOURCES.items())),
        "",
        "Not trained on: OCR-D/assets (no licence stated), ICDAR 2015, FUNSD, SROIE (research or",
        "non-commercial only) and the Joseph Hooker letters (no licence in the repository; images \u00a9 RBG Kew).",
        "",
        "Rendered lines (a quarter of the batches): English word phrases, numbers and codes (Debian",
        "`wamerican`) and the texts of the real training lines, drawn in these Debian font packages:",
        "",
        *(f"- {f.package} ({f.licence})" for f in LINE_FONT_FAMILIES),
        "",
        "Lines per part and group:",
        "",
        *_data_rows(training),
        "",
        "## Training",
        "",
        f"- command: `{TRAIN_COMMAND}`",
        f"- trained on: {training['device']} ({training['machine']}); {training['steps_done']} steps in "
        f"{training['seconds'] / 60:.0f} min; best validation at step {training['best_step']}",
        "- no GPU machine was lent to this session; `--device auto` uses CUDA when one is there",
        f"- settings: `{json.dumps(training['config'], ensure_ascii=False)}`",
        "- deterministic for a seed: batch k is drawn and augmented from a generator seeded by (seed, k);",
        "  `--resume` continues from the last checkpoint exactly",
        f"- how this run went: {training.get('schedule', 'one run')}",
        *_interpolation_lines(training),
        "",
        "## Validation (real-train documents held out, raw text, before normalisation)",
        "",
        *_validation_rows(training),
        "",
        "## Test: the kept-apart 20% of real-fit and real-fit-en (never trained or tuned on)",
        "",
        "Corpus CER on normalised text (`evaluation/normalize.py`: long s, r rotunda, old umlaut, double hyphen",
        "mapped to modern letters on both sides), 95% bootstrap intervals, engines in process.",
        "",
        *_score_rows(scores),
        "",
        *(scores.get("notes", [])),
        "",
        "## Files",
        "",
        "| file | sha256 |",
        "| --- | --- |",
        *(f"| {p.name} | `{file_digest(p)}` |" for p in files),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    """Write metadata.json and MODEL_CARD.md in the model folder."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--scores", type=Path)
    args = parser.parse_args()
    training = json.loads((args.directory / "training.json").read_text())
    scores = json.loads(args.scores.read_text()) if args.scores else {}
    write_metadata(args.directory, training["config"].get("version", "v1"))
    (args.directory / "MODEL_CARD.md").write_text(render_card(args.directory, training, scores))


if __name__ == "__main__":
    main()
