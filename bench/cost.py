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

Real pages (``--real-pages``): six dense printed pages of ../shared/data (German prints, a French
typescript), each through the server as a page job with Tesseract alone and with the default preset, and
through rapidocr's own default whole-page call (``RapidOCR()(image)``) in this process; page CER in
reading order, and the bag-of-words error (:func:`bench.pages_real.bag_of_words_error`), against the
source's text. Tesseract reads with the deployment's Tesseract languages (English unless set).

Characters: ``--batches`` batches of ``--chars`` real handwritten digits (MNIST test part, ../shared/data)
through ``/v1/batch_predict`` with the cache off, one client, for the CNN alone and the default preset;
for the default, the first batch's items are compared with the same images sent as single jobs.

    python bench/cost.py [--url http://127.0.0.1:8000] [--pages 6] [--real-pages] [--batches 5] [--chars 64]
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
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


def mnist_digits(count: int) -> list[tuple[bytes, str]]:
    """The first ``count`` MNIST test digits in ../shared/data, dark on light PNGs, with their labels."""
    folder = SHARED / "mnist-t10k-part"
    with (
        gzip.open(folder / "images-idx3-ubyte.gz") as images_file,
        gzip.open(folder / "labels-idx1-ubyte.gz") as labels,
    ):
        raw, truth = images_file.read(), labels.read()[8:]
    found = []
    for image, label in zip(np.frombuffer(raw[16:], np.uint8).reshape(-1, 28, 28)[:count], truth, strict=False):
        buffer = io.BytesIO()
        Image.fromarray(255 - image).save(buffer, format="PNG")
        found.append((buffer.getvalue(), str(label)))
    return found


def bench_chars(http: requests.Session, url: str, batches: int, size: int, clients: int = 1) -> list[str]:
    """Characters per second through /v1/batch_predict (``batches`` batches of ``size`` MNIST digits, cache
    off, sent by ``clients`` concurrent clients), and whether each default batch item of the first batch
    reads as the same image sent as a job alone."""
    chars = mnist_digits(batches * size)
    parts = [chars[start : start + size] for start in range(0, len(chars), size)]
    configs = {"emnist_cnn alone": {"engines": "emnist_cnn"}, "default": {}}
    rows = [f"| configuration ({clients} client{'s' if clients > 1 else ''}) | chars | seconds | chars/s | accuracy |"
            " same as single jobs |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for name, form in configs.items():
        data = {"mode": "char", "cache": "false", **form}

        def send(part: list[tuple[bytes, str]], data: dict[str, str] = data) -> list[dict[str, Any]]:
            with requests.Session() as own:
                files = [("images", (f"{i}.png", png)) for i, (png, _) in enumerate(part)]
                response = own.post(f"{url}/v1/batch_predict", files=files, data=data, timeout=300)
                response.raise_for_status()
                return list(response.json()["results"])

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = [item for answered in pool.map(send, parts) for item in answered]
        seconds = time.perf_counter() - started
        done = [r for r in results if r["status"] == "succeeded"]
        pairs = zip(results, chars, strict=True)
        right = sum(r["result"]["character"] == truth for r, (_, truth) in pairs if r["result"])
        same = "" if form else _same_as_single_jobs(http, url, chars[:size], results[:size])
        rows.append(f"| {name} | {len(done)}/{len(chars)} | {seconds:.2f} | {len(done) / seconds:.0f} | "
                    f"{100 * right / len(chars):.1f}% | {same} |")  # fmt: skip
    return rows


def _same_as_single_jobs(
    http: requests.Session, url: str, chars: list[tuple[bytes, str]], items: list[dict[str, Any]]
) -> str:
    """How many batch items read as the same image sent alone (cache off): the same character and top-5
    ranking, confidences within 1e-4 (an engine's batched call differs from a lone one in the last digits)."""
    same = 0
    for (data, _), item in zip(chars, items, strict=True):
        _, alone = run_job(http, url, data, {"mode": "char", "cache": "false"})
        batch = item["result"] or {"character": None, "top5": []}
        ranked = [c["character"] for c in batch["top5"]] == [c["character"] for c in alone["top5"]]
        close = all(
            abs(a["confidence"] - b["confidence"]) <= 1e-4 for a, b in zip(batch["top5"], alone["top5"], strict=False)
        )
        same += batch["character"] == alone["character"] and ranked and close
    return f"{same}/{len(chars)}"


# Dense printed pages of ../shared/data (fitting part of real-fit: German prints, a French typescript).
REAL_PAGES = (
    "ocrd-gt-structure-text/pages/bebel_frau_1879_0176.tif",
    "ocrd-gt-structure-text/pages/clauren_mimil_1815_0023.jpg",
    "ocrd-gt-structure-text/pages/clauren_mimil_1815_0146.jpg",
    "ocrd-assets-kant/pages/INPUT_0017.tif",
    "ocrd-assets-kant/pages/INPUT_0020.tif",
    "tapuscorpus/pages/20130043_87-1962-catalogue-dactylographi__FRAN_0011_11140_L-medium.jpg",
)


def bench_real_pages(http: requests.Session, url: str) -> list[str]:
    """Real dense printed pages: seconds per page through the server (Tesseract alone, the default) and for
    rapidocr's own default whole-page call in this process; page CER of both page jobs."""
    from rapidocr import RapidOCR

    from bench.pages_real import bag_of_words_error
    from evaluation.manifest import load_items

    truths = {item.path.resolve(): item.truth for item in load_items(SHARED / "real-fit" / "manifest.tsv")}
    own = RapidOCR()
    rows = ["| page | lines | Tesseract s | default s | rapidocr own s | default / Tesseract | default / rapidocr |"
            " CER Tesseract | CER default | bag-of-words error default |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    totals = {"tesseract": 0.0, "default": 0.0, "own": 0.0}
    for name in REAL_PAGES:
        path = SHARED / "real-fit" / name
        with Image.open(path) as opened:
            rgb = np.asarray(opened.convert("RGB"))
            buffer = io.BytesIO()
            opened.convert("L").save(buffer, format="PNG")
        png, truth = buffer.getvalue(), truths[path.resolve()]
        tess_s, tess = run_job(http, url, png, {"mode": "page", "cache": "false", "engines": "tesseract"})
        default_s, default = run_job(http, url, png, {"mode": "page", "cache": "false"})
        started = time.perf_counter()
        own(rgb)
        own_s = time.perf_counter() - started
        for key, value in (("tesseract", tess_s), ("default", default_s), ("own", own_s)):
            totals[key] += value
        rows.append(
            f"| {path.name[:40]} | {len(default['lines'])} | {tess_s:.2f} | {default_s:.2f} | {own_s:.2f} | "
            f"{default_s / tess_s:.2f}x | {default_s / own_s:.2f}x | {100 * _cer(tess['text'], truth):.1f}% | "
            f"{100 * _cer(default['text'], truth):.1f}% | "
            f"{100 * bag_of_words_error(truth, default['text']):.1f}% |"
        )
    rows.append(
        f"| all {len(REAL_PAGES)} | | {totals['tesseract']:.1f} | {totals['default']:.1f} | {totals['own']:.1f} | "
        f"{totals['default'] / totals['tesseract']:.2f}x | {totals['default'] / totals['own']:.2f}x | | | |"
    )
    return rows


def _cer(text: str, truth: str) -> float:
    """Order-sensitive CER of a page text, both sides normalised as ``ocr eval`` does."""
    from evaluation.normalize import normalise

    want = normalise(truth)
    return Levenshtein.distance(normalise(text), want) / max(1, len(want))


def main() -> None:
    """Run both benchmarks against ``--url`` and append them to bench/RESULTS.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--batches", type=int, default=5, help="batches of --chars MNIST digits")
    parser.add_argument("--chars", type=int, default=64, help="characters per batch")
    parser.add_argument("--clients", type=int, default=1, help="concurrent clients sending the batches")
    parser.add_argument("--real-pages", action="store_true", help="also the real printed pages of ../shared/data")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with requests.Session() as http:
        engines = sorted(http.get(f"{args.url}/status", timeout=10).json()["engines"])
        page_rows = bench_pages(http, args.url, args.pages, engines) if args.pages else []
        print("\n".join(page_rows))
        real_rows = bench_real_pages(http, args.url) if args.real_pages else []
        print("\n".join(real_rows))
        char_rows = bench_chars(http, args.url, args.batches, args.chars, args.clients) if args.batches else []
        print("\n".join(char_rows))
    if not args.no_record:
        real = " --real-pages" if args.real_pages else ""
        command = (
            f"python bench/cost.py --pages {args.pages} --batches {args.batches} --chars {args.chars}"
            f" --clients {args.clients}{real}"
        )
        lines = [
            machine_line(),
            "- stack: `make run-detached` (one worker process per engine, one for voting, gunicorn API); the client",
            "  shares the 2 cores; pages: two columns of 24 lines plus a header, 1700 px wide, rendered DejaVu Sans",
            "",
            *page_rows,
            "",
            *real_rows,
            "",
            *char_rows,
        ]
        append_section(ROOT / "bench" / "RESULTS.md", "cost (pages/min, chars/s)", command, lines)


if __name__ == "__main__":
    main()
