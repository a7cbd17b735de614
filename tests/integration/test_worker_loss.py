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

    start_worker("rescuer", ["engine.slow_tesseract"])
    job = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), job_id, timeout=60)
    assert job["status"] == "succeeded", job
    assert job["result"]["text"] == "survivor"
    assert job["result"]["engines"]["slow_tesseract"]["text"] == "survivor"
