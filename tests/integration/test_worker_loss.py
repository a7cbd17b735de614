"""A worker killed while it holds a job: the job is redelivered and completes on another worker."""

from __future__ import annotations

import io
import time

import pytest

from tests.integration.conftest import render_png, wait_job

pytestmark = pytest.mark.integration


def test_job_survives_sigkill_of_its_worker(app_client, start_worker, redis_client) -> None:
    doomed = start_worker("doomed", ["engine.slow_tesseract"])
    response = app_client.post(
        "/v1/jobs",
        data={"image": (io.BytesIO(render_png("survivor")), "s.png"), "mode": "text", "engines": "slow_tesseract"},
        content_type="multipart/form-data",
    )
    job_id = response.get_json()["id"]
    deadline = time.monotonic() + 20
    while app_client.get(f"/v1/jobs/{job_id}").get_json()["status"] != "running":
        assert time.monotonic() < deadline, "the doomed worker never started the job"
        time.sleep(0.05)
    doomed.kill_hard()  # mid-task: the engine sleeps before it answers
    assert app_client.get(f"/v1/jobs/{job_id}").get_json()["status"] == "running"

    rescuer = start_worker("rescuer", ["engine.slow_tesseract"])
    try:
        job = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), job_id, timeout=60)
    finally:
        rescuer.stop()  # leave the slow queue to the tests that follow
    assert job["status"] == "succeeded", job
    assert job["result"]["text"] == "survivor"
    assert job["result"]["engines"]["slow_tesseract"]["text"] == "survivor"


def _run_with_worker(app_client, worker, data: dict, timeout: float) -> dict:
    """Submit a multipart job while ``worker`` serves its queue, wait for the job, then stop the worker."""
    try:
        response = app_client.post("/v1/jobs", data=data, content_type="multipart/form-data")
        return wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), response.get_json()["id"], timeout)
    finally:
        worker.stop()


def test_engine_past_its_soft_time_limit_is_left_out_of_the_vote(app_client, start_worker) -> None:
    # This worker's slow engine sleeps 6 s, past the 4 s soft limit the test services run with.
    worker = start_worker("sleepy", ["engine.slow_tesseract"], env={"OCR_TEST_SLOW_SECONDS": "6"})
    data = {
        "image": (io.BytesIO(render_png("on time")), "t.png"),
        "mode": "text",
        "engines": "tesseract,slow_tesseract",
    }
    job = _run_with_worker(app_client, worker, data, timeout=30)
    assert job["status"] == "succeeded", job
    assert job["result"]["text"] == "on time"
    assert [(f["engine"], f["code"]) for f in job["result"]["failed_engines"]] == [("slow_tesseract", "timeout")]


def test_engine_killed_at_its_hard_time_limit_is_left_out_of_the_vote(app_client, start_worker) -> None:
    # The stubborn engine ignores the soft limit on a mostly dark crop: only the 5 s hard limit ends it.
    worker = start_worker("stubborn-alone", ["engine.stubborn"])
    data = {
        "image": (io.BytesIO(render_png("A", size=40, invert=True)), "a.png"),
        "mode": "char",
        "engines": "tesseract,stubborn",
        "cache": "false",
    }
    job = _run_with_worker(app_client, worker, data, timeout=40)
    assert job["status"] == "succeeded", job
    assert job["result"]["character"] == "A"
    failed = job["result"]["failed_engines"]
    assert [(f["engine"], f["code"]) for f in failed] == [("stubborn", "killed")]
    assert "TimeLimitExceeded" in failed[0]["message"]
