"""Choose the interpolation ``alpha`` on real lines the recognizer never trained on (not the kept-apart part).

    python -m training.lines.choose CHECKPOINT --alphas 0,0.3,0.5,0.7,1 [--per-group 60] [--json OUT]

The selection lines are the fit part of ``real-fit`` and ``real-fit-en`` (never the 20% kept apart) that
training did not use: the untrained half of the licensed sources and the sources it may not train on.
The score is the mean over groups of each group's corpus CER (normalised text), so that no group of
many short lines decides alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rapidfuzz.distance import Levenshtein

from engines.line_reader import LineReaderEngine
from evaluation.manifest import Item, load_items
from evaluation.normalize import normalise
from evaluation.realdata import in_final_check
from training.lines.data import FINAL_SHARE, FIT_SETS, is_trained_fit_item
from training.lines.interpolate import interpolated
from training.lines.release import write_release
from training.lines.train import DEFAULT_SHARED


def selection_items(shared: Path, per_group: int, seed: int = 0) -> list[Item]:
    """Up to ``per_group`` untrained fit-part lines and words of each group."""
    by_group: dict[str, list[Item]] = {}
    for name in FIT_SETS:
        folder = shared / name
        for item in load_items(folder / "manifest.tsv"):
            if item.kind not in ("line", "word") or in_final_check(item, FINAL_SHARE):
                continue
            if is_trained_fit_item(item, folder):
                continue
            by_group.setdefault(f"{name}:{item.groups.get('group', '')}", []).append(item)
    rng = np.random.default_rng(seed)
    chosen = []
    for group in sorted(by_group):
        items = by_group[group]
        picks = sorted(rng.choice(len(items), min(per_group, len(items)), replace=False))
        chosen += [Item(items[i].path, items[i].kind, items[i].truth, {**items[i].groups, "sel": group}) for i in picks]
    return chosen


def group_cers(engine: LineReaderEngine, items: Sequence[Item]) -> dict[str, float]:
    """Corpus CER per selection group."""
    readings = engine.recognize_text([np.asarray(Image.open(item.path).convert("RGB")) for item in items])
    totals: dict[str, list[int]] = {}
    for item, reading in zip(items, readings, strict=True):
        entry = totals.setdefault(item.groups["sel"], [0, 0])
        entry[0] += Levenshtein.distance(normalise(reading.text), normalise(item.truth))
        entry[1] += len(normalise(item.truth))
    return {group: round(edits / max(1, total), 4) for group, (edits, total) in sorted(totals.items())}


def scored(cers: dict[str, float]) -> dict[str, Any]:
    """A candidate's row: each group's CER and their mean (no group of many short lines decides alone)."""
    return {"groups": cers, "mean": round(float(np.mean(list(cers.values()))), 4)}


def main() -> None:
    """Score each alpha; print and optionally save the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--alphas", default="0,0.3,0.5,0.7,1")
    parser.add_argument("--per-group", type=int, default=60)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    items = selection_items(args.shared, args.per_group)
    table: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for alpha in (float(a) for a in args.alphas.split(",")):
            out = Path(tmp) / f"a{alpha}"
            write_release(interpolated(args.checkpoint, alpha), out, "choose")
            cers = group_cers(LineReaderEngine(out), items)
            table[str(alpha)] = scored(cers)
            print(alpha, table[str(alpha)], flush=True)
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
