"""What a job costs against a running stack, in one run: pages per minute and characters per second.

Pages: rendered two-column pages with a header (a dense magazine-like layout), each read as a page job
with the cache off, one at a time, the configurations alternating page by page so that they share the
machine's noise:

* ``tesseract``: Tesseract alone (the baseline the ratios are taken against);
* ``default``: the server's default preset, which runs only the engines that can change the answer,
  with its cascade;
* ``all engines``: every enabled engine on every line (``cascade=false``, all engines named).

Text accuracy is an order-free CER (lines sorted before comparing), because column order on
multi-column pages is a separate problem (the documents issue); it still counts every misread character.

Characters: ``--chars`` real handwritten capitals (CoMNIST, ../shared/data) through
``/v1/batch_predict`` with the cache off, for the CNN alone, the default preset and all engines.

    python bench/cost.py [--url http://127.0.0.1:8000] [--pages 6] [--chars 64]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import requests
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import FONT, append_section, machine_line

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
WORDS = (
    "the",
    "report",
    "market",
    "price",
    "river",
    "studio",
    "garden",
    "winter",
    "number",
    "letter",
    "system",
    "office",
    "public",
    "morning",
    "station",
    "history",
    "council",
    "engine",
    "paper",
    "window",
    "travel",
    "summer",
    "figure",
    "method",
    "result",
    "account",
    "season",
    "theatre",
    "harbour",
    "factory",
    "village",
    "science",
    "machine",
    "journal",
    "chapter",
    "1998",
    "2024",
    "42",
    "7.5",
    "March",
    "June",
)


def render_page(seed: int, lines_per_column: int = 24) -> tuple[bytes, list[str]]:
    """A two-column page with a header line; returns the PNG and its lines."""
    rng = random.Random(seed)
    font, head = ImageFont.truetype(FONT, 22), ImageFont.truetype(FONT, 34)
    page = Image.new("L", (1700, 160 + 40 * lines_per_column), 255)
    draw = ImageDraw.Draw(page)
    header = f"The Weekly Review {rng.randint(1, 52)}"
    draw.text((80, 50), header, font=head, fill=0)
    lines = [header]
    for column in range(2):
        for row in range(lines_per_column):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 7)))
            draw.text((80 + column * 820, 130 + 40 * row), text, font=font, fill=0)
            lines.append(text)
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue(), lines


def order_free_cer(text: str, truth: list[str]) -> tuple[int, int]:
    """Edits and truth length between the sorted lines of ``text`` and of ``truth``."""
    got = "\n".join(sorted(line.strip() for line in text.splitlines() if line.strip()))
    want = "\n".join(sorted(truth))
    return Levenshtein.distance(got, want), len(want)


def run_job(http: requests.Session, url: str, png: bytes, form: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Submit one job and poll it to the end; wall seconds from submit to result, and the result."""
    started = time.perf_counter()
    response = http.post(f"{url}/v1/jobs", files={"image": ("p.png", png)}, data=form, timeout=60)
    response.raise_for_status()
    location = url + response.headers["Location"]
    while True:
        job = http.get(location, timeout=30).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.01)
    if job["status"] != "succeeded":
        raise RuntimeError(f"job failed: {job.get('error')}")
    return time.perf_counter() - started, job["result"]


def bench_pages(http: requests.Session, url: str, pages: int, engines: list[str]) -> list[str]:
    """Pages per minute and order-free CER per configuration; ratios against Tesseract alone."""
    configs = {
        "tesseract": {"engines": "tesseract"},
        "default": {},
        "all engines": {"engines": ",".join(engines), "cascade": "false"},
    }
    times: dict[str, list[float]] = {name: [] for name in configs}
    edits: dict[str, list[int]] = {name: [0, 0] for name in configs}
    ran: dict[str, set[str]] = {name: set() for name in configs}
    run_job(http, url, render_page(10_000)[0], {"mode": "page", "cache": "false"})  # warm-up
    for number in range(pages):
        png, truth = render_page(number)
        for name, form in configs.items():
            seconds, result = run_job(http, url, png, {"mode": "page", "cache": "false", **form})
            times[name].append(seconds)
            wrong, total = order_free_cer(result["text"], truth)
            edits[name][0] += wrong
            edits[name][1] += total
            ran[name].update(result["engines"])
    base = statistics.mean(times["tesseract"])
    rows = ["| configuration | engines that ran | s/page (mean) | pages/min | time vs Tesseract | order-free CER |",
            "| --- | --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for name in configs:
        mean = statistics.mean(times[name])
        cer = edits[name][0] / max(1, edits[name][1])
        rows.append(
            f"| {name} | {', '.join(sorted(ran[name]))} | {mean:.2f} | {60 / mean:.1f} | {mean / base:.2f}x | "
            f"{100 * cer:.2f}% |"
        )
    return rows


def handwritten_chars(count: int) -> list[tuple[bytes, str]]:
    """``count`` CoMNIST capitals, spread over the letters."""
    folder = SHARED / "comnist-upper"
    letters = sorted(p for p in folder.iterdir() if p.is_dir())
    found: list[tuple[bytes, str]] = []
    files = {letter.name: sorted(letter.glob("*.png")) for letter in letters}
    index = 0
    while len(found) < count:
        for letter in letters:
            if index < len(files[letter.name]) and len(found) < count:
                found.append((files[letter.name][index].read_bytes(), letter.name))
        index += 1
    return found


def bench_chars(http: requests.Session, url: str, count: int, engines: list[str]) -> list[str]:
    """Characters per second through /v1/batch_predict, cache off."""
    chars = handwritten_chars(count)
    configs = {
        "emnist_cnn alone": {"engines": "emnist_cnn"},
        "default": {},
        "all engines": {"engines": ",".join(engines), "cascade": "false"},
    }
    rows = ["| configuration | chars | seconds | chars/s | accuracy | sent on by the cascade |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for name, form in configs.items():
        files = [("images", (f"{i}.png", data)) for i, (data, _) in enumerate(chars)]
        started = time.perf_counter()
        response = http.post(
            f"{url}/v1/batch_predict", files=files, data={"mode": "char", "cache": "false", **form}, timeout=300
        )
        seconds = time.perf_counter() - started
        response.raise_for_status()
        results = response.json()["results"]
        done = [r for r in results if r["status"] == "succeeded"]
        right = sum(
            r["result"]["character"] == truth for r, (_, truth) in zip(results, chars, strict=True) if r["result"]
        )
        sent_on = sum(1 for r in done if (r["result"].get("char_cascade") or {}).get("accepted") is False)
        cascaded = sum(1 for r in done if r["result"].get("char_cascade"))
        share = f"{sent_on}/{cascaded}" if cascaded else "no cascade"
        rows.append(f"| {name} | {len(done)}/{count} | {seconds:.2f} | {len(done) / seconds:.1f} | "
                    f"{100 * right / count:.1f}% | {share} |")  # fmt: skip
    return rows


def main() -> None:
    """Run both benchmarks against ``--url`` and append them to bench/RESULTS.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--chars", type=int, default=64)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with requests.Session() as http:
        engines = sorted(http.get(f"{args.url}/status", timeout=10).json()["engines"])
        page_rows = bench_pages(http, args.url, args.pages, engines) if args.pages else []
        print("\n".join(page_rows))
        char_rows = bench_chars(http, args.url, args.chars, engines)
        print("\n".join(char_rows))
    if not args.no_record:
        command = f"python bench/cost.py --pages {args.pages} --chars {args.chars}"
        lines = [
            machine_line(),
            "- stack: `make run-detached` (one worker process per engine, one for voting, gunicorn API); the client",
            "  shares the 2 cores; pages: two columns of 24 lines plus a header, 1700 px wide, rendered DejaVu Sans",
            "",
            *page_rows,
            "",
            *char_rows,
        ]
        append_section(ROOT / "bench" / "RESULTS.md", "cost (pages/min, chars/s)", command, lines)


if __name__ == "__main__":
    main()
