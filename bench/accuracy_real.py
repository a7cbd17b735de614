"""Accuracy per kind of input on labelled real data, with 95% bootstrap intervals: engines, presets, oracle.

Reads saved readings (``ocr eval --save-readings`` or ``ocr calibrate --save-readings``) so that the same
engine outputs are scored for every system. Run it on the part of the real data kept apart from fitting
(``python -m evaluation.realdata`` writes ``final.tsv``), once, after fitting: never tune on it.

    python bench/accuracy_real.py /tmp/real/final.tsv --readings R1.jsonl [--readings R2.jsonl ...] \\
        --preset general=config/presets.d/general.json --preset previous=/tmp/old-general.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.common import append_section, machine_line
from ensemble.fitted import FittedPreset, parse_fitted_preset
from evaluation.commands import collect, preset_answers
from evaluation.fitting import bootstrap_ci, calibration_error, kind_groups, kind_score
from evaluation.manifest import load_items
from evaluation.readings import Reading
from evaluation.scoring import Answer, engine_answer, oracle_answer

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ENGINES = ["paddleocr", "line_reader", "tesseract", "easyocr", "emnist_cnn", "trocr"]


def cell(readings: Sequence[Reading], answers: Sequence[Answer]) -> str:
    """Accuracy (chars, with case-insensitive) or CER (text) with its 95% interval."""
    low, high = bootstrap_ci(readings, answers)
    value = kind_score(readings, answers)
    if readings[0].item.kind == "char":
        folded = sum(a.text.lower() == r.item.truth.lower() for r, a in zip(readings, answers, strict=True))
        return f"{value:.1%} [{low:.1%}, {high:.1%}] (ci {folded / len(readings):.1%})"
    return f"{1 - value:.2%} [{1 - high:.2%}, {1 - low:.2%}]"


def row_groups(readings: Sequence[Reading], by: str | None) -> dict[str, list[Reading]]:
    """Items per kind, then (with ``by``) per value of that column within each kind it occurs in."""
    groups = dict(kind_groups(readings))
    if by:
        for reading in readings:
            value = reading.item.groups.get(by)
            if value:
                groups.setdefault(f"{by}={value}", []).append(reading)
    return groups


def main() -> None:
    """Score and append a section to bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--readings", action="append", type=Path, required=True)
    parser.add_argument("--preset", action="append", default=[], help="NAME=PATH of a preset JSON file")
    parser.add_argument("--title", default="real data kept apart")
    parser.add_argument("--by", help="also one row per value of this manifest column (e.g. group)")
    parser.add_argument("--content", help="presets answer as for requests with this content hint (e.g. printed)")
    args = parser.parse_args()
    items = load_items(args.manifest)
    readings = collect(items, "", False, False, None, tuple(args.readings))
    presets: dict[str, FittedPreset] = {}
    for value in args.preset:
        name, _, path = value.partition("=")
        presets[name] = parse_fitted_preset(path, json.loads(Path(path).read_text()))
    engines = [e for e in ENGINES if any(e in r.engines() for r in readings)]
    header = [
        "kind",
        "items",
        *engines,
        *(f"preset {name}" for name in presets),
        "oracle",
        *(f"ECE {n}" for n in presets),
    ]
    rows = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for kind, group in row_groups(readings, args.by).items():
        cells = [kind, str(len(group))]
        cells += [cell(group, [engine_answer(r, e) for r in group]) for e in engines]
        answered = {name: preset_answers(group, preset, engines, args.content) for name, preset in presets.items()}
        cells += [cell(group, answers) for answers in answered.values()]
        cells.append(cell(group, [oracle_answer(r, engines) for r in group]))
        cells += [f"{calibration_error(group, answers):.3f}" for answers in answered.values()]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    lines = [
        machine_line(),
        f"- data: `{args.manifest.name}`, {len(readings)} items ({args.title}); one saved run of the engines",
        "- characters: accuracy (case-insensitive after the interval); text: CER on normalised text;",
        "  95% bootstrap intervals; presets answer as the server does "
        + (
            f"with content={args.content}"
            if args.content
            else "without a content hint (the line kind for words and lines)"
        ),
        "",
        *rows,
    ]
    append_section(RESULTS, "accuracy_real", "python bench/accuracy_real.py " + " ".join(sys.argv[1:]), lines)


if __name__ == "__main__":
    main()
