"""Horizontal scaling: two worker processes with their own node names share one engine queue.

Each worker counts the recognitions it ran on its own /metrics (as Prometheus sees every replica), so
the spread of the jobs is read from the workers themselves; the wall time shows they ran in parallel.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import pytest
import requests

from tests.integration.conftest import WorkerProcess, render_png, wait_job
from tests.integration.test_metrics import sample

pytestmark = pytest.mark.integration

WORDS = ["apple", "river", "stone", "cloud", "maple", "tiger", "ocean", "lemon"]
JOBS = len(WORDS)
ENGINE_SECONDS = 1.5  # the slow engine waits this long before reading, so a job costs at least this


def recognitions(worker: WorkerProcess) -> float:
    """How many slow_tesseract tasks this worker finished, from its own /metrics."""
    text = requests.get(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=10).text
    return sample(text, "ocr_engine_tasks_total", engine="slow_tesseract", outcome="succeeded")


def test_jobs_spread_across_two_workers_on_the_same_queue(
    app_client, start_worker: Callable[..., WorkerProcess], redis_client
) -> None:
    env = {"OCR_TEST_SLOW_SECONDS": str(ENGINE_SECONDS)}
    # Jobs of earlier tests that asked for every engine may wait on this queue: the new workers run them too.
    waiting = int(redis_client.llen("engine.slow_tesseract"))
    workers = [start_worker(name, ["engine.slow_tesseract", "combine"], env=env) for name in ("scale-a", "scale-b")]
    try:
        started = time.monotonic()
        job_ids = []
        for number, word in enumerate(WORDS):
            data = {"image": (io.BytesIO(render_png(word)), "s.png"), "mode": "text"}
            # Distinct options (top_k) keep the jobs from starting as one group: each is its own task.
            data |= {"engines": "slow_tesseract", "cache": "false", "top_k": str(number + 1)}
            job_ids.append(app_client.post("/v1/jobs", data=data, content_type="multipart/form-data").get_json()["id"])
        jobs = [wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), jid, timeout=60) for jid in job_ids]
        elapsed = time.monotonic() - started
        counts = [recognitions(worker) for worker in workers]
    finally:
        for worker in workers:
            worker.stop()  # leave the slow queue to the tests that follow
    assert [job["status"] for job in jobs] == ["succeeded"] * JOBS, jobs
    assert [job["result"]["text"] for job in jobs] == WORDS
    # Every job ran once; the workers may also run tasks of earlier tests that were waiting on the queue or
    # come back to it later (a task a killed worker held is restored after the visibility timeout).
    assert sum(counts) >= JOBS, (counts, waiting)
    assert min(counts) >= 2, f"one worker took (almost) everything: {counts}"
    # One worker (concurrency 1) cannot run these tasks in less than their sum; two take about half.
    serial_s = (JOBS + waiting) * ENGINE_SECONDS
    assert elapsed < serial_s, f"{elapsed:.1f} s for {JOBS} jobs (+{waiting} waiting) on {counts}"
