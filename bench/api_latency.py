"""End-to-end latency and throughput through the real API (submit -> poll -> result).

Needs a running stack (`make run-detached`). For each job kind (char, word, line, page) and each
number of concurrent clients (1, 8, 32): cache off (a new image per request and ``cache=false``, so
every job runs the engines) and cache on (one image, answered from the cache after its first job).
Appends a section to bench/RESULTS.md.

    python bench/api_latency.py [--url http://127.0.0.1:8000] [--requests 60] [--clients 1,8,32]
"""

from __future__ import annotations

import argparse
import io
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from PIL import Image, ImageDraw, ImageFont

from bench.common import append_section, machine_line

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = ["invoice", "total", "number", "quick", "brown", "garden", "payment", "window", "seven", "delta"]
SENTENCES = ["Payment due within thirty days", "Invoice number 2048 for March", "The quick brown fox jumps high"]
CHARS = "ABCDEFGHJKLMNPRTUVWXYZ23456789"
MODES = {"char": "char", "word": "line", "line": "line", "page": "page"}
POLL_S = 0.002


def render(text: str, size: int) -> bytes:
    font = ImageFont.truetype(FONT, size)
    lines = text.split("\n")
    width = max(font.getbbox(line)[2] for line in lines)
    image = Image.new("L", (width + 24, (size + size // 2) * len(lines) + 24), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((12, 12 + row * (size + size // 2)), line, font=font, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def sample(kind: str, n: int) -> tuple[bytes, str]:
    """The n-th distinct image of a kind (size varies with n, so no two share a cache key)."""
    if kind == "char":
        text, size = CHARS[n % len(CHARS)], 36 + n % 23
    elif kind == "word":
        text, size = WORDS[n % len(WORDS)], 24 + n % 19
    elif kind == "line":
        text, size = SENTENCES[n % len(SENTENCES)], 22 + n % 13
    else:
        text, size = "\n".join(SENTENCES[(n + i) % len(SENTENCES)] for i in range(4)), 20 + n % 9
    return render(text, size), text


def one_job(session: requests.Session, url: str, png: bytes, kind: str, cache: bool) -> tuple[float, str]:
    started = time.perf_counter()
    data = {"mode": MODES[kind], "cache": "true" if cache else "false"}
    response = session.post(f"{url}/v1/jobs", files={"image": ("i.png", png)}, data=data)
    response.raise_for_status()
    job_url = url + response.headers["Location"]
    job = response.json()
    while job["status"] not in ("succeeded", "failed"):
        time.sleep(POLL_S)
        job = session.get(job_url).json()
    return (time.perf_counter() - started) * 1000, (job.get("result") or {}).get("text", "")


def run(url: str, kind: str, total: int, clients: int, cache: bool, offset: int) -> dict[str, float]:
    local = threading.local()
    correct = 0
    fixed = sample(kind, offset)

    def task(n: int) -> float:
        nonlocal correct
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        png, truth = fixed if cache else sample(kind, offset + n)
        ms, text = one_job(session, url, png, kind, cache)
        if n >= 0:  # the cache-filling first job is not measured
            correct += text == truth
        return ms

    if cache:
        task(-1)  # the first job fills the cache
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = sorted(pool.map(task, range(total)))
    wall = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {"p50": q[49], "p95": q[94], "p99": q[98], "jobs_per_s": total / wall, "exact": correct / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=60, help="per cell (pages: a quarter of it)")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--kinds", default="char,word,line,page")
    parser.add_argument("--poll-ms", type=float, default=2.0, help="how often each client polls its job")
    parser.add_argument("--cache", default="off,on", help="off, on or both")
    parser.add_argument("--note", default="", help="a line for RESULTS.md, e.g. the stack's settings")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    global POLL_S
    POLL_S = args.poll_ms / 1000.0
    requests.get(f"{args.url}/ready", timeout=5).raise_for_status()
    rows, offset = [], 1000 * int(time.time() % 1000)  # fresh images on every run
    for kind in args.kinds.split(","):
        total = max(8, args.requests // 4) if kind == "page" else args.requests
        for clients in (int(c) for c in args.clients.split(",")):
            for cache in (mode == "on" for mode in args.cache.split(",")):
                stats = run(args.url, kind, total, clients, cache, offset)
                offset += total + 1
                cells = [kind, str(clients), "on" if cache else "off"] + [
                    f"{stats[k]:.1f}" for k in ("p50", "p95", "p99", "jobs_per_s")
                ]
                rows.append("| " + " | ".join([*cells, f"{stats['exact']:.0%}"]) + " |")
                print(rows[-1], flush=True)
    if not args.no_record:
        lines = [
            machine_line(),
            "- stack: `make run-detached` (one worker per engine, concurrency 1; gunicorn 2 x 8 threads; local Redis)",
            f"- latency = submit to result in the client, which polls every {args.poll_ms:g} ms; the load generator "
            "shares the 2 cores",
            *([f"- {args.note}"] if args.note else []),
            "",
            "| job | clients | cache | p50 ms | p95 ms | p99 ms | jobs/s | exact text |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
            *rows,
        ]
        command = (
            f"python bench/api_latency.py --requests {args.requests} --clients {args.clients} --kinds {args.kinds} "
            f"--poll-ms {args.poll_ms:g} --cache {args.cache}"
        )
        append_section(Path(__file__).with_name("RESULTS.md"), "api_latency", command, lines)


if __name__ == "__main__":
    main()
