"""The line recognizer against PP-OCR per group of the kept-apart real data, for its model card.

Reads saved readings (``ocr eval --save-readings``) of the part kept apart (``final.tsv`` of
``python -m evaluation.realdata``); writes the scores JSON that ``python -m training.lines.card`` puts in
the card. Run once, after the model is fixed: never tune on it.

    python bench/line_reader_scores.py /tmp/real/final.tsv --readings A.jsonl --readings B.jsonl --out FILE
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evaluation.commands import collect
from evaluation.fitting import bootstrap_ci, kind_score
from evaluation.manifest import load_items
from evaluation.readings import Reading
from evaluation.scoring import engine_answer

ENGINES = ("line_reader", "paddleocr")


def engine_cell(readings: list[Reading], engine: str) -> dict[str, float]:
    """Corpus CER (or, for characters, the error rate) with its 95% bootstrap interval."""
    answers = [engine_answer(r, engine) for r in readings]
    low, high = bootstrap_ci(readings, answers)
    return {"cer": round(1 - kind_score(readings, answers), 4), "low": round(1 - high, 4), "high": round(1 - low, 4)}


def main() -> None:
    """Score each group and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--readings", action="append", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    readings = collect(load_items(args.manifest), "", False, False, None, tuple(args.readings))
    groups: dict[str, list[Reading]] = {}
    for reading in readings:
        groups.setdefault(f"{reading.item.groups.get('group', '')} ({reading.item.kind})", []).append(reading)
    scores: dict[str, Any] = {"groups": {}}
    for name, members in sorted(groups.items()):
        scores["groups"][name] = {"items": len(members), **{e: engine_cell(members, e) for e in ENGINES}}
        print(name, scores["groups"][name], flush=True)
    scores["notes"] = [
        f"Data: `{args.manifest.name}` (the kept-apart 20% of real-fit, real-fit-en and the held-out characters);",
        "characters are scored as error rate (1 - accuracy) in the same columns.",
    ]
    args.out.write_text(json.dumps(scores, indent=2) + "\n")


if __name__ == "__main__":
    main()
