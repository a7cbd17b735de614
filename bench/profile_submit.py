"""Profile the API's submit path in-process with pyinstrument: cache hits and new jobs.

Needs the stack's Redis and workers running (``make run-detached``): the first request fills the cache.
The app runs in this process (Flask's test client, no HTTP server), so the profile shows only our code
and the libraries it calls.

    python bench/profile_submit.py [--requests 300] [--html profile.html]
"""

from __future__ import annotations

import argparse
import base64
import time
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

from app import create_app
from config.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]


def _post(client: Any, png: bytes, **options: Any) -> Any:
    body = {"image": base64.b64encode(png).decode(), "mode": "char", **options}
    return client.post("/v1/jobs", json=body)


def _timed(client: Any, png: bytes, count: int, **options: Any) -> float:
    started = time.perf_counter()
    for _ in range(count):
        response = _post(client, png, **options)
        assert response.status_code == 202, response.get_json()
    return (time.perf_counter() - started) / count * 1000.0


def main() -> None:
    """Profile ``--requests`` cache hits and new jobs; print mean API time per request and the profiles."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--new-jobs", type=int, default=50, help="cache=false submissions (each queues a job)")
    parser.add_argument("--html", type=Path, default=None)
    args = parser.parse_args()
    app = create_app(get_settings())
    client = app.test_client()
    png = (ROOT / "samples" / "char_R.png").read_bytes()
    first = _post(client, png).get_json()
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{first['id']}").get_json()["status"] not in ("succeeded", "failed"):
        if time.monotonic() > deadline:
            raise SystemExit("the first job did not finish within 60 s: are the workers running?")
        time.sleep(0.05)
    assert _post(client, png).get_json()["cached"], "the second request was not a cache hit"
    _timed(client, png, 20)  # warm-up
    profiler = Profiler(interval=0.0005)
    with profiler:
        hit_ms = _timed(client, png, args.requests)
    print(f"cache hit: {hit_ms:.2f} ms per request (in-process, {args.requests} requests)")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    new = Profiler(interval=0.0005)
    with new:
        new_ms = _timed(client, png, args.new_jobs, cache=False)
    print(f"new job: {new_ms:.2f} ms per request (in-process, {args.new_jobs} requests)")
    print(new.output_text(unicode=False, color=False, show_all=False))
    if args.html:
        args.html.write_text(profiler.output_html())


if __name__ == "__main__":
    main()
