"""Load test through the real API: many cheap jobs from concurrent clients; lost, duplicated, failed jobs.

Each of ``--clients`` threads submits a job (``POST /v1/jobs``), polls it until it finishes or
``--deadline`` passes, then submits the next, until ``--jobs`` jobs were sent. The jobs are cheap on
purpose (one character, ``mode=char``, ``engines=emnist_cnn``, ``cache=false``): the run measures the
job machinery (API, Redis, Celery, grouping, voting), not an engine.

Every job's image is different (a character in its own size and angle), and this script reads every
image itself with the same character CNN first: the CNN's top-5 candidates with their confidences are a
fingerprint of the image (distinct for every image we draw), so a result can be checked against the
image that was sent, not just against the character. Counted:

- lost: accepted (202) but not finished by the deadline, or unknown (404) when read again at the end;
- duplicated: a job id answered for two submissions; a result that is another image's (its fingerprint
  is not its own image's); a job whose answer changed after it was first seen finished (voted twice
  into different results); a re-vote with the same answer (``finished_at`` moved) is counted apart;
- failed: status ``failed``, or ``succeeded`` with a failed engine; rejected: a submission not
  accepted (any status but 202, after ``--submit-retries`` retries of 429/503 and connection errors).

The stack: the API at ``--url`` (default http://127.0.0.1:8000). When nothing answers there and the URL is
local, the script starts one with ``make run-detached`` (engines ``OCR_ENGINES``, default here
``emnist_cnn,tesseract``; ``OCR_REDIS_URL`` as set, so ``OCR_REDIS_URL=redis://127.0.0.1:6390/0`` gives
it a Redis of its own, with AOF under .run/redis/) and stops it with ``make stop`` at the end; a stack
it did not start is left running. Appends a section to bench/RESULTS.md unless ``--no-record``.

    PYTHONPATH=. python bench/load.py [--url http://127.0.0.1:8000] [--jobs 10000] [--clients 50] [--deadline 300]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# Characters the CNN reads right at every size and angle drawn here (no W/X/Z, O/0, I/l/1, S/5: their
# case or shape is ambiguous alone).
CHARS = "ABCDEFGHJKLMNPQRTUVYabdefhknrty23456789"
ENGINE = "emnist_cnn"
FORM = {"mode": "char", "engines": ENGINE, "cache": "false", "method": "weighted"}


def job_image(n: int) -> tuple[str, bytes]:
    """The n-th image: its character, and a PNG that no other n gives (size and angle vary with n)."""
    char = CHARS[n % len(CHARS)]
    rest = n // len(CHARS)
    size, rest = 28 + rest % 17, rest // 17
    # Whole degrees from -7 to 7, then a tenth of a degree more for each further round: distinct for
    # 99,450 consecutive n, and never more than 8 degrees off upright.
    angle = -7 + rest % 15 + (rest // 15 % 10) / 10
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(char)
    image = Image.new("L", (right - left + 24, bottom - top + 24), 255)
    ImageDraw.Draw(image).text((12 - left, 12 - top), char, font=font, fill=0)
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return char, buffer.getvalue()


def fingerprint(view: dict[str, Any] | None) -> str:
    """An engine's char view (``result.engines[name]``) as a string: its top-5 and their confidences."""
    if not view or view.get("error"):
        return "error"
    return " ".join(f"{c['character']}{c['confidence']:.6g}" for c in view["top5"])


def local_fingerprints(pngs: list[bytes], engine: str = ENGINE) -> tuple[str, list[str]]:
    """Read every image here as the workers would (the API's normalisation, then the engine, no extra
    steps); returns the engine's model version and each image's fingerprint."""
    from config.settings import Settings
    from engines.registry import load_engine_class
    from jobs.images import validate_image
    from jobs.store import decode_png

    settings = Settings(engines=[engine])
    reader = load_engine_class(engine).from_settings(settings)
    prints: list[str] = []
    version = ""
    for start in range(0, len(pngs), 256):
        crops = [decode_png(validate_image(png, 1 << 24, 1 << 26).png) for png in pngs[start : start + 256]]
        for result in reader.recognize(crops, "char", 5):
            version = result.model_version
            top = [{"character": c.char, "confidence": c.confidence} for c in result.candidates[:5]]
            prints.append(fingerprint({"top5": top}))
    return version, prints


@dataclass
class Outcome:
    """What happened to one submission."""

    n: int
    char: str
    job_id: str | None = None
    http_status: int = 0
    submit_ms: float = 0.0
    end_to_end_ms: float | None = None
    status: str = "not_sent"
    job: dict[str, Any] | None = None
    retries: int = 0


@dataclass
class Tally:
    """The counts the run reports."""

    accepted: int = 0
    rejected: Counter[int] = field(default_factory=Counter)
    succeeded: int = 0
    failed: int = 0
    lost_unfinished: int = 0
    lost_404: int = 0
    late: int = 0
    duplicate_ids: int = 0
    crossed: int = 0
    changed: int = 0
    revoted_same: int = 0
    wrong_char: int = 0
    unchecked: int = 0


def submit(session: requests.Session, url: str, png: bytes, retries: int) -> tuple[requests.Response | None, int]:
    """POST one job; 429/503 and connection errors are retried (with a pause) up to ``retries`` times."""
    for attempt in range(retries + 1):
        try:
            response = session.post(f"{url}/v1/jobs", files={"image": ("c.png", png)}, data=FORM, timeout=30)
        except requests.RequestException:
            response = None
        if response is not None and response.status_code not in (429, 503):
            return response, attempt
        if attempt < retries:
            time.sleep(0.5)
    return response, retries


def poll(session: requests.Session, url: str, job_id: str, deadline: float) -> dict[str, Any] | None:
    """Poll a job (10 ms, growing to 200 ms) until it finishes or ``deadline`` (monotonic) passes."""
    delay = 0.01
    job: dict[str, Any] | None = None
    while True:
        try:
            response = session.get(f"{url}/v1/jobs/{job_id}", timeout=30)
            if response.status_code == 200:
                job = response.json()
                if job["status"] in ("succeeded", "failed"):
                    return job
            elif response.status_code == 404:
                return {"status": "not_found"}
        except requests.RequestException:
            pass
        if time.monotonic() >= deadline:
            return job
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


def run_load(url: str, jobs: int, clients: int, deadline_s: float, retries: int, offset: int) -> list[Outcome]:
    """Run ``jobs`` submissions from ``clients`` threads, each waiting for its job before the next."""
    outcomes = [Outcome(n, job_image(offset + n)[0]) for n in range(jobs)]
    numbers: Iterator[int] = iter(range(jobs))
    lock = threading.Lock()
    done = [0]

    def client() -> None:
        session = requests.Session()
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            outcome = outcomes[n]
            _, png = job_image(offset + n)
            started = time.perf_counter()
            response, outcome.retries = submit(session, url, png, retries)
            outcome.submit_ms = (time.perf_counter() - started) * 1000
            outcome.http_status = response.status_code if response is not None else 0
            if outcome.http_status != 202 or response is None:
                outcome.status = "rejected"
                continue
            outcome.job_id = response.json()["id"]
            job = poll(session, url, outcome.job_id, time.monotonic() + deadline_s)
            outcome.job = job
            outcome.status = (job or {}).get("status", "unknown")
            if outcome.status in ("succeeded", "failed"):
                outcome.end_to_end_ms = (time.perf_counter() - started) * 1000
            with lock:
                done[0] += 1
                if done[0] % 1000 == 0:
                    print(f"  {done[0]} jobs done", flush=True)

    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    return outcomes


def reread(url: str, outcomes: list[Outcome], clients: int) -> dict[str, dict[str, Any] | None]:
    """Read every accepted job again (after the run): its record now, None for a 404."""
    local = threading.local()
    found: dict[str, dict[str, Any] | None] = {}

    def read(job_id: str) -> None:
        session = local.__dict__.setdefault("session", requests.Session())
        for _ in range(5):
            try:
                response = session.get(f"{url}/v1/jobs/{job_id}", timeout=30)
            except requests.RequestException:
                time.sleep(0.5)
                continue
            found[job_id] = response.json() if response.status_code == 200 else None
            return

    ids = [o.job_id for o in outcomes if o.job_id]
    with ThreadPoolExecutor(min(clients, 16)) as pool:
        list(pool.map(read, ids))
    return found


def answer(job: dict[str, Any]) -> tuple[Any, ...]:
    """What must not change once a job is finished: its status and the voted answer with every view."""
    result = job.get("result") or {}
    views = {name: fingerprint(view) for name, view in (result.get("engines") or {}).items()}
    return job["status"], result.get("character"), tuple(sorted(views.items())), str(job.get("error"))


def tally(
    outcomes: list[Outcome], later: dict[str, dict[str, Any] | None], expected: list[str] | None, wait_s: float
) -> Tally:
    """Count lost, duplicated, failed and wrong jobs (``expected``: each image's own fingerprint)."""
    counts = Tally()
    ids = Counter(o.job_id for o in outcomes if o.job_id)
    counts.duplicate_ids = sum(n - 1 for n in ids.values() if n > 1)
    for o in outcomes:
        if o.job_id is None:
            counts.rejected[o.http_status] += 1
            continue
        counts.accepted += 1
        now = later.get(o.job_id)
        if now is None:
            counts.lost_404 += 1
            continue
        if o.status not in ("succeeded", "failed"):
            if now["status"] in ("succeeded", "failed"):
                counts.late += 1  # finished after the client's deadline: not lost, but not in time
                o.job = now
            else:
                counts.lost_unfinished += 1
                continue
        job = o.job or now
        if answer(job) != answer(now):
            counts.changed += 1
        elif job.get("finished_at") != now.get("finished_at"):
            counts.revoted_same += 1
        if now["status"] == "failed":
            counts.failed += 1
            continue
        result = now["result"]
        if result.get("failed_engines"):
            counts.failed += 1
            continue
        counts.succeeded += 1
        if expected is None:
            counts.unchecked += 1
        elif fingerprint(result["engines"].get(ENGINE)) != expected[o.n]:
            counts.crossed += 1
        if result.get("character") != o.char:
            counts.wrong_char += 1
    return counts


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 of ``values`` (nan when there are fewer than two)."""
    if len(values) < 2:
        return float("nan"), float("nan"), float("nan")
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94], q[98]


@dataclass
class Stack:
    """The stack under test: one that was running, or one this script started (and so stops)."""

    url: str
    started: bool = False

    def __enter__(self) -> Stack:
        if _answers(self.url):
            print(f"using the stack running at {self.url}")
            return self
        host = urllib.parse.urlparse(self.url).hostname
        if host not in ("127.0.0.1", "localhost"):
            raise SystemExit(f"nothing answers at {self.url}")
        env = {**os.environ, "OCR_ENGINES": os.environ.get("OCR_ENGINES", f"{ENGINE},tesseract")}
        env["OCR_BIND"] = urllib.parse.urlparse(self.url).netloc
        print(f"nothing answers at {self.url}: make run-detached (OCR_ENGINES={env['OCR_ENGINES']})", flush=True)
        self.started = True
        subprocess.run(["make", "run-detached"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return self

    def __exit__(self, *_: object) -> None:
        if self.started:
            subprocess.run(["make", "stop"], cwd=ROOT, check=False)


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def server_version(url: str) -> str | None:
    """The CNN's model version as the workers published it (``/status``), if readable."""
    try:
        engines = requests.get(f"{url}/status", timeout=5).json().get("engines") or {}
    except (requests.RequestException, ValueError):
        return None
    return (engines.get(ENGINE) or {}).get("model_version")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds each client waits for its job")
    parser.add_argument("--submit-retries", type=int, default=20, help="retries of a 429/503 or refused submit")
    parser.add_argument("--offset", type=int, default=0, help="number of the first image")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    offset = args.offset

    print(f"reading the {args.jobs} images here first (their fingerprints) ...", flush=True)
    version, expected = local_fingerprints([job_image(offset + n)[1] for n in range(args.jobs)])
    distinct = len(set(expected))
    with Stack(args.url) as stack:
        requests.get(f"{args.url}/ready", timeout=10).raise_for_status()
        served = server_version(args.url)
        checked: list[str] | None = expected
        if served is not None and served != version:
            print(f"the server's {ENGINE} is {served}, ours {version}: results checked by character only")
            checked = None
        load = os.getloadavg()
        highest = [load[0]]
        running = threading.Event()
        running.set()

        def sample_load() -> None:
            while running.is_set():
                highest[0] = max(highest[0], os.getloadavg()[0])
                time.sleep(5)

        threading.Thread(target=sample_load, daemon=True).start()
        started = time.perf_counter()
        outcomes = run_load(args.url, args.jobs, args.clients, args.deadline, args.submit_retries, offset)
        wall = time.perf_counter() - started
        running.clear()
        print("reading every job again ...", flush=True)
        time.sleep(2.0)
        later = reread(args.url, outcomes, args.clients)
        stack_line = "started by this script (`make run-detached`)" if stack.started else "already running"
    counts = tally(outcomes, later, checked, args.deadline)

    submit_p = percentiles([o.submit_ms for o in outcomes if o.job_id])
    e2e_p = percentiles([o.end_to_end_ms for o in outcomes if o.end_to_end_ms is not None])
    server_ms = [
        float(o.job["result"]["processing_time_ms"])
        for o in outcomes
        if o.job and o.job.get("status") == "succeeded" and o.job.get("result")
    ]
    server_p = percentiles(server_ms)
    finished = counts.succeeded + counts.failed
    retried = sum(o.retries for o in outcomes)
    lost = counts.lost_unfinished + counts.lost_404
    duplicated = counts.duplicate_ids + counts.crossed + counts.changed
    rows = [
        ("jobs sent / accepted (202)", f"{args.jobs} / {counts.accepted}"),
        ("rejected (status: count)", ", ".join(f"{k}: {v}" for k, v in sorted(counts.rejected.items())) or "0"),
        ("submits retried after 429/503/refused", str(retried)),
        ("succeeded (every engine answered)", str(counts.succeeded)),
        ("failed (job failed or an engine failed)", str(counts.failed)),
        (
            f"lost (unfinished after {args.deadline:g} s / 404 later)",
            f"{lost} ({counts.lost_unfinished} / {counts.lost_404})",
        ),
        ("finished after the deadline (late)", str(counts.late)),
        (
            "duplicated (same id twice / another image's result / answer changed)",
            f"{duplicated} ({counts.duplicate_ids} / {counts.crossed} / {counts.changed})",
        ),
        ("re-voted with the same answer (finished_at moved)", str(counts.revoted_same)),
        (
            "results checked against their own image's fingerprint",
            "no (model differs)"
            if checked is None
            else f"{counts.succeeded - counts.unchecked} ({distinct} distinct fingerprints of {args.jobs})",
        ),
        ("character not the one drawn (CNN misreads)", str(counts.wrong_char)),
        ("submit latency p50 / p95 / p99 (ms)", " / ".join(f"{v:.1f}" for v in submit_p)),
        ("end to end, client p50 / p95 / p99 (ms)", " / ".join(f"{v:.1f}" for v in e2e_p)),
        ("end to end, server (processing_time_ms) p50 / p95 / p99", " / ".join(f"{v:.1f}" for v in server_p)),
        ("wall time (s)", f"{wall:.1f}"),
        ("throughput (finished jobs/s)", f"{finished / wall:.1f}"),
    ]
    table = ["| measure | value |", "| --- | ---: |", *[f"| {name} | {value} |" for name, value in rows]]
    print("\n".join(table))
    if not args.no_record:
        from bench.common import append_section

        lines = [
            f"- machine: VM, `nproc` {os.cpu_count()}, {cpu_model()}; load average {load[0]:.2f} before the run, "
            f"at most {highest[0]:.2f} during it (anything else running shares the cores)",
            f"- stack: {stack_line} at {args.url}; the clients (threads in one process) share the cores with it",
            f"- jobs: `mode=char`, `engines={ENGINE}`, `cache=false`, `method=weighted` (cheap on purpose: the "
            "job machinery is measured, not an engine); each image distinct; each client submits, polls "
            "(10 ms growing to 200 ms) until the job finishes, then submits the next",
            "",
            *table,
        ]
        env = " ".join(f"{name}={os.environ[name]}" for name in ("OCR_REDIS_URL", "OCR_ENGINES") if name in os.environ)
        command = (
            f"{env + ' ' if env else ''}PYTHONPATH=. python bench/load.py --url {args.url} --jobs {args.jobs} "
            f"--clients {args.clients} --deadline {args.deadline:g}"
        )
        append_section(Path(__file__).with_name("RESULTS.md"), "load (lost / duplicated / failed)", command, lines)
    if lost or duplicated:
        raise SystemExit(f"{lost} lost, {duplicated} duplicated")


if __name__ == "__main__":
    main()
