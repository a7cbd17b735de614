"""A batch is one job: /v1/batch_predict creates one record with an item per image; each engine reads the
items in one task; each item gets the result it gets as a job alone, its own error, its own cache entry."""

from __future__ import annotations

import gzip
import io
import time

import numpy as np
import pytest
import redis
from PIL import Image

from tests.integration.conftest import make_settings, render_png, wait_job

pytestmark = pytest.mark.integration
SAME_FIELDS = ("character", "top5", "method", "agreement", "failed_engines")


def real_digits(count: int) -> list[bytes]:
    """The first ``count`` handwritten digits of the MNIST test part in ../shared/data, dark on light PNGs."""
    from training.real import DEFAULT_DATA_DIR

    with gzip.open(DEFAULT_DATA_DIR / "mnist-t10k-part" / "images-idx3-ubyte.gz") as file:
        raw = file.read()
    images = np.frombuffer(raw[16:], np.uint8).reshape(-1, 28, 28)[:count]
    pngs = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(255 - image).save(buffer, format="PNG")
        pngs.append(buffer.getvalue())
    return pngs


@pytest.fixture(scope="module")
def big_batch_client(main_worker, model_workers):
    from app import create_app

    app = create_app(make_settings(max_batch_images=100))
    app.config["TESTING"] = True
    return app.test_client()


def _batch(client, images: list[bytes], headers: dict[str, str] | None = None, **form: str):
    files = [(io.BytesIO(png), f"{i}.png") for i, png in enumerate(images)]
    return client.post(
        "/v1/batch_predict", data={"images": files, **form}, content_type="multipart/form-data", headers=headers or {}
    )


def _single(client, png: bytes, **form: str) -> str:
    response = client.post(
        "/v1/jobs", data={"image": (io.BytesIO(png), "c.png"), **form}, content_type="multipart/form-data"
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def test_a_batch_of_100_is_one_job_and_reads_as_100_single_jobs(big_batch_client, redis_client: redis.Redis) -> None:
    images = real_digits(100)
    form = {"mode": "char", "engines": "tesseract", "cache": "false"}
    response = _batch(big_batch_client, images, **form)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    items = body["results"]
    assert body["status"] == "succeeded" and [item["index"] for item in items] == list(range(100))
    assert {item["job_id"] for item in items} == {body["job_id"]}  # one job holds every item
    # One recognition task per engine for the whole batch (one chunk), none per image.
    deliveries = redis_client.keys(f"ocr:deliveries:batch-{body['job_id']}-*")
    assert [key.decode().rsplit(":", 1)[1] for key in deliveries] == ["tesseract"]
    ids = [_single(big_batch_client, png, **form) for png in images]
    for item, job_id in zip(items, ids, strict=True):
        alone = wait_job(lambda jid: big_batch_client.get(f"/v1/jobs/{jid}").get_json(), job_id, timeout=120)
        assert alone["status"] == item["status"] == "succeeded"
        assert {f: item["result"][f] for f in SAME_FIELDS} == {f: alone["result"][f] for f in SAME_FIELDS}
        assert item["result"]["confidence"] == pytest.approx(alone["result"]["confidence"])


def test_the_batch_job_shows_its_items_and_one_bad_image_fails_alone(app_client) -> None:
    images = [render_png("A", size=40), render_png("B", size=40)[:80], render_png("7", size=40)]  # B cut short
    response = _batch(app_client, images, mode="char", engines="tesseract", cache="false")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [item["status"] for item in body["results"]] == ["succeeded", "rejected", "succeeded"]
    assert body["results"][1]["error"]["code"] == "corrupt_image" and body["results"][1]["result"] is None
    job = app_client.get(f"/v1/jobs/{body['job_id']}").get_json()
    assert job["status"] == "succeeded" and job["batch"] == {"count": 3, "finished": 3}
    assert [item["result"]["character"] if item["result"] else None for item in job["items"]] == ["A", None, "7"]


def test_an_idempotency_key_gives_the_same_batch_and_items_are_cached_one_by_one(app_client) -> None:
    images = [render_png("K", size=40), render_png("3", size=40)]
    headers = {"Idempotency-Key": "batch-key-1"}
    first = _batch(app_client, images, headers, mode="char", engines="tesseract").get_json()
    again = _batch(app_client, images, headers, mode="char", engines="tesseract").get_json()
    assert again["job_id"] == first["job_id"]
    # Each item is cached under its own key: a new batch with one known image answers it from the cache.
    mixed = _batch(app_client, [images[1], render_png("M", size=40)], mode="char", engines="tesseract").get_json()
    assert [item["cached"] for item in mixed["results"]] == [True, False]
    assert mixed["results"][0]["result"]["character"] == "3" and mixed["results"][1]["result"]["character"] == "M"
    # A single job for the same image and options shares the same cache entry.
    job = app_client.post(
        "/v1/jobs",
        data={"image": (io.BytesIO(images[0]), "k.png"), "mode": "char", "engines": "tesseract"},
        content_type="multipart/form-data",
    ).get_json()
    assert job["cached"] is True and job["result"]["character"] == "K"


def test_a_page_image_in_a_batch_runs_as_its_own_page_job(app_client) -> None:
    from tests.integration.conftest import draw_page

    page, _ = draw_page(["first line of the page", "second line of it"])
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    body = _batch(app_client, [buffer.getvalue(), render_png("word")], engines="tesseract", cache="false").get_json()
    page_item, word_item = body["results"]
    assert body["status"] == "succeeded"
    assert page_item["job_id"] != body["job_id"] and word_item["job_id"] == body["job_id"]
    assert page_item["result"]["mode"] == "page" and "second line" in page_item["result"]["text"]
    assert word_item["result"]["text"] == "word"


def test_a_batch_chunk_killed_at_the_hard_time_limit_restarts_its_items_alone(
    app_client, start_worker, redis_client: redis.Redis
) -> None:
    buffer = io.BytesIO()
    Image.new("L", (40, 40), 0).save(buffer, format="PNG")  # all dark: the stubborn engine hangs on it
    images = [render_png("A", size=40), buffer.getvalue(), render_png("7", size=40)]
    worker = start_worker("stubborn-batch", ["engine.stubborn"])
    try:
        response = _batch(app_client, images, mode="char", engines="stubborn", cache="false")
        body = response.get_json()
        job = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), body["job_id"], timeout=60)
    finally:
        worker.stop()
    items = job["items"]
    assert [item["status"] for item in items] == ["succeeded", "failed", "succeeded"], items
    assert "TimeLimitExceeded" in items[1]["error"]["message"]
    # The good items ran again alone after their chunk's task was killed at the 5 s hard limit.
    assert [items[0]["result"]["character"], items[2]["result"]["character"]] == ["A", "7"]
    assert all(item["result"]["processing_time_ms"] > 5000 for item in (items[0], items[2]))


def test_a_batch_survives_sigkill_of_its_engine_worker(app_client, start_worker) -> None:
    from app.service import service

    doomed = start_worker("doomed-batch", ["engine.slow_tesseract"])
    images = [render_png("first survivor"), render_png("second survivor")]
    with app_client.application.app_context():
        batch = service().submit_batch(images, {"mode": "text", "engines": ["slow_tesseract"], "cache": False})
    deadline = time.monotonic() + 20
    while app_client.get(f"/v1/jobs/{batch['id']}").get_json()["status"] != "running":
        assert time.monotonic() < deadline, "the doomed worker never started the batch"
        time.sleep(0.05)
    time.sleep(0.5)  # inside the engine call: the slow engine sleeps before it answers
    doomed.kill_hard()
    rescuer = start_worker("rescuer-batch", ["engine.slow_tesseract"])
    try:
        job = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), batch["id"], timeout=60)
    finally:
        rescuer.stop()
    assert job["status"] == "succeeded", job
    assert [item["result"]["text"] for item in job["items"]] == ["first survivor", "second survivor"]
