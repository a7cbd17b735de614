"""The server's default preset, through the running server, against each engine alone, per group of the
kept-apart real items. Engines alone are scored from saved readings of the same items (``ocr eval --local
--save-readings``), since the default no longer runs every engine. Appends a section to bench/RESULTS.md.

    python bench/default_vs_engines.py /tmp/real/final.tsv --readings /tmp/real/final-readings.jsonl [--readings ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_section, machine_line
from evaluation.fitting import bootstrap_ci, kind_score
from evaluation.manifest import Item, load_items
from evaluation.readings import MODE_FOR_KIND, Reading, load_readings
from evaluation.scoring import Answer, engine_answer


def server_answer(http: requests.Session, url: str, item: Item) -> Answer:
    """The default preset's answer for one item, through the API (cache off)."""
    with item.path.open("rb") as handle:
        data = {"mode": MODE_FOR_KIND[item.kind], "cache": "false"}
        response = http.post(f"{url}/v1/jobs", files={"image": handle}, data=data, timeout=60)
    response.raise_for_status()
    location = url + response.headers["Location"]
    while (job := http.get(location, timeout=30).json())["status"] not in ("succeeded", "failed"):
        time.sleep(0.02)
    result = job.get("result") or {}
    return Answer(result.get("character" if item.kind == "char" else "text") or "", 0.0)


def cell(readings: Sequence[Reading], answers: Sequence[Answer]) -> tuple[float, str]:
    """The score and its printed form: accuracy for characters, CER for text, with a 95% interval."""
    value = kind_score(readings, answers)
    low, high = bootstrap_ci(readings, answers)
    if readings[0].item.kind == "char":
        return value, f"{value:.1%} [{low:.1%}, {high:.1%}]"
    return value, f"{1 - value:.2%} [{1 - high:.2%}, {1 - low:.2%}]"


def table(items: list[Item], answers: list[Answer], readings: dict[Path, Reading]) -> list[str]:
    """One row per group: the default, each engine alone, and the engines the default scores below."""
    engines = sorted({name for reading in readings.values() for name in reading.engines()})
    groups: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        groups[item.groups.get("group") or item.groups.get("fit_kind") or item.kind].append(index)
    rows = [
        "| group | items | default (server) | "
        + " | ".join(engines)
        + " | default below (default minus engine, 95% CI) |",
        "| --- | ---: | ---: |" + " ---: |" * len(engines) + " --- |",
    ]
    for group, indexes in sorted(groups.items()):
        reads = [readings[items[i].path] for i in indexes]
        default = [answers[i] for i in indexes]
        default_score, default_cell = cell(reads, default)
        cells, below = [], []
        for engine in engines:
            alone = [engine_answer(reading, engine) for reading in reads]
            score, text = cell(reads, alone)
            cells.append(text)
            if score > default_score + 1e-9:
                low, high = bootstrap_ci(reads, default, alone)
                below.append(f"{engine} ({low:+.3f}, {high:+.3f})")
        rows.append(
            f"| {group} | {len(indexes)} | {default_cell} | " + " | ".join(cells) + f" | {'; '.join(below) or '-'} |"
        )
    return rows


def main() -> None:
    """Run every item through the server, score per group, print and record the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--readings", type=Path, action="append", required=True, help="repeatable (one per engine)")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    items = load_items(args.manifest)
    readings = {reading.item.path: reading for reading in load_readings(args.readings)}
    started = time.monotonic()
    with requests.Session() as http:
        answers = [server_answer(http, args.url, item) for item in items]
    seconds = time.monotonic() - started
    rows = table(items, answers, readings)
    print("\n".join(rows))
    lines = [
        machine_line(),
        f"- {len(items)} kept-apart items through the server in {seconds:.0f} s (cache off); characters: accuracy,",
        "  text: CER; 95% bootstrap intervals",
        "",
        *rows,
    ]
    command = f"python bench/default_vs_engines.py {args.manifest} " + " ".join(
        f"--readings {r}" for r in args.readings
    )
    append_section(Path(__file__).with_name("RESULTS.md"), "default_vs_engines (kept-apart real data)", command, lines)


if __name__ == "__main__":
    main()
