"""Jobs waiting to start together run as one group: one engine task for all their crops, and for each job
the same result as when it runs alone (a batch is one job of its own: tests/integration/test_batches.py)."""

from __future__ import annotations

import io
import time

import pytest
import redis

from tests.integration.conftest import render_png, wait_job

pytestmark = pytest.mark.integration
# No letter whose two cases differ only in size (x/X, o/O, w/W): a lone glyph cut to its ink does not tell.
CHARS = ["A", "k", "7", "Q", "h", "M"]


def test_a_start_takes_the_jobs_waiting_with_it_and_their_own_starts_do_nothing(
    app_client, redis_client: redis.Redis
) -> None:
    from app.service import service

    images = [render_png(char, size=40) for char in CHARS]
    with app_client.application.app_context():
        svc = service()
        jobs = _deferred_char_jobs(svc, images, "tesseract")
        ids = [job["id"] for job in jobs]
        # As when jobs arrive while the voting worker is busy: all wait, the first one's start runs first.
        svc.store.add_waiting(ids)
        svc.celery.send_task("ocr.start", args=(ids[0],), queue="combine")
        finished = [wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), job_id) for job_id in ids]
        for job_id in ids[1:]:  # their own messages arrive late: the jobs are started already
            svc.celery.send_task("ocr.start", args=(job_id,), queue="combine")
        time.sleep(2)  # time for those starts to run (and, were they to start anything, for it to show)
    assert [job["result"]["character"] for job in finished] == CHARS
    # One engine task for all of them: its deliveries are counted under the group's first job, which is ours
    # whichever start took them (a late start of an earlier test's job may run first).
    assert sum(int(redis_client.get(f"ocr:deliveries:group-{job_id}:tesseract") or 0) for job_id in ids) >= 1
    assert all(redis_client.get(f"ocr:deliveries:{job_id}:tesseract") is None for job_id in ids)
    assert all(redis_client.get(f"ocr:start:{job_id}") == b"started" for job_id in ids)


def test_a_group_killed_at_the_hard_time_limit_splits_so_only_the_bad_image_fails(
    app_client, start_worker, redis_client: redis.Redis
) -> None:
    from PIL import Image

    from app.service import service
    from jobs.pipeline import queue_together

    buffer = io.BytesIO()
    Image.new("L", (40, 40), 0).save(buffer, format="PNG")  # all dark: the stubborn engine hangs on it
    images = [render_png("A", size=40), buffer.getvalue(), render_png("7", size=40)]
    worker = start_worker("stubborn", ["engine.stubborn"])
    try:
        with app_client.application.app_context():
            svc = service()
            jobs = _deferred_char_jobs(svc, images, "stubborn")
            queue_together(svc.celery, jobs)  # one group: its one engine task hangs and is killed
            finished = [
                wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), job["id"], timeout=60)
                for job in jobs
            ]
    finally:
        worker.stop()
    assert [job["status"] for job in finished] == ["succeeded", "failed", "succeeded"], finished
    assert "TimeLimitExceeded" in finished[1]["error"]["message"]
    # The good jobs ran again alone after the group's task was killed at the 5 s hard limit.
    assert all(job["result"]["processing_time_ms"] > 5000 for job in (finished[0], finished[2]))
    assert [finished[0]["result"]["character"], finished[2]["result"]["character"]] == ["A", "7"]


def _deferred_char_jobs(svc, images: list[bytes], engine: str) -> list[dict]:
    """Char jobs for ``engine`` created as the API creates them, but not started (the test starts them)."""
    from jobs.pipeline import StoredImage, start_job

    jobs = []
    for png in images:
        image = svc.validate(png)
        options = svc.resolve_options({"mode": "char", "engines": [engine]}, image)
        stored = StoredImage(image.sha256, image.png, image.width, image.height)
        jobs.append(start_job(svc.celery, svc.store, stored, options, use_cache=False, defer=True))
    return jobs
