"""Bounding the work one request causes, with the real Redis and workers: an identical request joins the
unfinished job instead of running it again, and a huge "character" is shrunk before any engine reads it."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageFont

from jobs.store import JobStore
from tests.integration.conftest import FONT, render_png, wait_job

pytestmark = pytest.mark.integration


def post(client, png: bytes, **fields: str) -> dict:
    form = {"image": (io.BytesIO(png), "x.png"), **fields}
    response = client.post("/v1/jobs", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_an_identical_request_joins_the_unfinished_job(app_client, main_worker) -> None:
    get = lambda job_id: app_client.get(f"/v1/jobs/{job_id}").get_json()  # noqa: E731
    warm = post(app_client, render_png("Warm up"), mode="line", engines="tesseract")
    assert wait_job(get, warm["id"])["status"] == "succeeded"  # the engine's version is known from here on
    png = render_png("Joined at once")
    first = post(app_client, png, mode="line", engines="tesseract")
    second = post(app_client, png, mode="line", engines="tesseract")
    assert second["id"] == first["id"], "the second request should join the first, still unfinished"
    assert wait_job(get, first["id"])["status"] == "succeeded"
    third = post(app_client, png, mode="line", engines="tesseract")
    assert third["id"] != first["id"] and third["cached"] is True  # finished: the cache answers now
    other = post(app_client, png, mode="line", engines="tesseract", cache="false")
    assert other["id"] != first["id"]  # without the cache, a request always runs its own job


def test_a_huge_character_is_shrunk_before_the_engines_read_it(app_client, main_worker, redis_client) -> None:
    image = Image.new("L", (2400, 2400), 255)
    ImageDraw.Draw(image).text((500, 200), "R", font=ImageFont.truetype(FONT, 1800), fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    job = post(app_client, buffer.getvalue(), mode="char", engines="tesseract", cache="false")
    record = JobStore(redis_client, 60, 60).get_job(job["id"])
    width, height = record["image_size"]
    assert width * height <= 1_000_000 and abs(width - height) <= 1
    done = wait_job(lambda job_id: app_client.get(f"/v1/jobs/{job_id}").get_json(), job["id"])
    assert done["status"] == "succeeded" and done["result"]["character"] == "R", done["result"]


def test_a_started_job_whose_chord_died_is_started_again(app_client, main_worker, redis_client) -> None:
    """A job left running with nothing queued for it (its vote was never sent) is finished by the sweeper."""
    from jobs.images import validate_image
    from jobs.options import JobOptions

    store = JobStore(redis_client, 600, 600)
    image = validate_image(render_png("Lost chord"), 10**7, 10**8)
    options = JobOptions(mode="line", engines=("tesseract",), method="weighted", weights={"tesseract": 1.0})
    store.put_image(image.sha256, image.png)
    job_id = "orphan" + image.sha256[:20]
    record = {
        "status": "running",
        "options": options.to_dict(),
        "image_sha256": image.sha256,
        "image_size": [image.width, image.height],
        "submitted_epoch": 0.0,
        "cacheable": False,
        "cached": False,
    }
    store.create_job(job_id, record)
    store.client.set(f"ocr:start:{job_id}", "started")  # as if a worker had started it and died
    store.track_started([job_id], -1)  # overdue already
    done = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), job_id, timeout=30)
    assert done["status"] == "succeeded" and done["result"]["text"] == "Lost chord", done
    assert job_id not in store.overdue()


def test_an_idempotency_key_whose_job_was_never_written_is_taken_over(app_client, main_worker, redis_client) -> None:
    png = render_png("Taken over")

    def send() -> dict:
        form = {"image": (io.BytesIO(png), "x.png"), "mode": "line", "engines": "tesseract", "cache": "false"}
        headers = {"Idempotency-Key": "takeover-1"}
        response = app_client.post("/v1/jobs", data=form, content_type="multipart/form-data", headers=headers)
        assert response.status_code == 202, response.get_json()
        return response.get_json()

    first = send()
    redis_client.delete(f"ocr:job:{first['id']}")  # as if the first request died before writing its job
    second = send()
    assert second["id"] != first["id"]
    assert send()["id"] == second["id"]  # retries now find the job that exists
