"""End-to-end latency and throughput through the real API (submit -> poll -> result).

Needs a running stack (`make run-detached`). Every request uses a freshly rendered image and
`cache=false`, so every job runs the engines. Appends a section to bench/RESULTS.md.

    python bench/api_latency.py [--url http://127.0.0.1:8000] [--requests 200] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import platform
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = ["invoice", "total", "number", "quick", "brown", "garden", "payment", "window", "seven", "delta"]
RESULTS = Path(__file__).with_name("RESULTS.md")
POLL_S = 0.002


def render(text: str, size: int) -> bytes:
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 24, bottom - top + 24), 255)
    ImageDraw.Draw(image).text((12 - left, 12 - top), text, font=font, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class ImageSource:
    """Distinct images (text plus a counter-dependent size) so no two jobs share a cache key."""

    def __init__(self, kind: str) -> None:
        self.kind, self.count, self.lock = kind, 0, threading.Lock()

    def next(self) -> tuple[bytes, str]:
        with self.lock:
            self.count += 1
            n = self.count
        if self.kind == "char":
            char = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"[n % 33]
            return render(char, 36 + n % 17), char
        word = WORDS[n % len(WORDS)]
        return render(word, 28 + n % 19), word


def one_job(session: requests.Session, url: str, png: bytes, mode: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = session.post(f"{url}/v1/jobs", files={"image": ("i.png", png)}, data={"mode": mode, "cache": "false"})
    response.raise_for_status()
    job_url = url + response.headers["Location"]
    job = response.json()
    while job["status"] not in ("succeeded", "failed"):
        time.sleep(POLL_S)
        job = session.get(job_url).json()
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, (job.get("result") or {}).get("text", "")


def run(url: str, kind: str, total: int, concurrency: int) -> dict[str, float]:
    source = ImageSource(kind)
    mode = "char" if kind == "char" else "text"
    local = threading.local()
    correct = 0

    def task(_: int) -> float:
        nonlocal correct
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        png, truth = source.next()
        ms, text = one_job(session, url, png, mode)
        if text == truth:
            correct += 1
        return ms

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(pool.map(task, range(total)))
    wall = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return {"p50": quantiles[49], "p95": quantiles[94], "jobs_per_s": total / wall, "accuracy": correct / total}


def git_revision() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    requests.get(f"{args.url}/ready", timeout=5).raise_for_status()
    for kind in ("word", "char"):  # warm-up: engines load lazily in each pool process
        run(args.url, kind, 10, 2)
    rows = []
    for kind in ("word", "char"):
        for concurrency in (1, args.concurrency):
            stats = run(args.url, kind, args.requests, concurrency)
            rows.append((kind, concurrency, stats))
            print(
                f"{kind:<5} c={concurrency:<2} p50 {stats['p50']:7.1f} ms  p95 {stats['p95']:7.1f} ms  "
                f"{stats['jobs_per_s']:6.1f} jobs/s  exact {stats['accuracy']:.1%}"
            )
    if not args.no_record:
        record(args, rows)


def record(args: argparse.Namespace, rows: list[tuple[str, int, dict[str, float]]]) -> None:
    cpu = platform.processor() or platform.machine()
    machine = f"{platform.node()}, {cpu}, {_cores()} cores, Python {platform.python_version()}"
    lines = [
        f"\n## api_latency — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, git {git_revision()}\n",
        f"- machine: {machine}",
        f"- command: `python bench/api_latency.py --requests {args.requests} --concurrency {args.concurrency}`",
        "- stack: `make run-detached` defaults (1 worker, concurrency 2; gunicorn 2 x 8 threads; local Redis)",
        "- each job: new image, `cache=false`, client polls every 2 ms; latency = submit to result in the client\n",
        "| job | clients | p50 ms | p95 ms | jobs/s | exact text |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, concurrency, s in rows:
        cells = [kind, str(concurrency), f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{s['jobs_per_s']:.1f}"]
        lines.append("| " + " | ".join([*cells, f"{s['accuracy']:.1%}"]) + " |")
    with RESULTS.open("a") as handle:
        handle.write("\n".join(lines) + "\n")


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
