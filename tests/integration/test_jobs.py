"""The job pipeline end to end: real Flask app, real Redis, real Celery workers, real Tesseract."""

from __future__ import annotations

import base64
import io
import uuid

import pytest
import requests

from tests.integration.conftest import render_png, wait_job

pytestmark = pytest.mark.integration


def _submit(client, png: bytes, **form):
    data = {"image": (io.BytesIO(png), "image.png"), **form}
    return client.post("/v1/jobs", data=data, content_type="multipart/form-data")


def _poll(client, job_id: str) -> dict:
    return wait_job(lambda jid: client.get(f"/v1/jobs/{jid}").get_json(), job_id)


@pytest.mark.parametrize("text", ["Invoice 2048", "quick brown fox", "HELLO"])
def test_word_job_reads_rendered_text(app_client, text: str) -> None:
    response = _submit(app_client, render_png(text + " " + uuid.uuid4().hex[:0]), mode="text", engines="tesseract")
    assert response.status_code == 202
    assert response.headers["Location"] == f"/v1/jobs/{response.get_json()['id']}"
    job = _poll(app_client, response.get_json()["id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["text"] == text
    assert job["result"]["engines"]["tesseract"]["text"] == text
    assert len(job["result"]["char_confidences"]) == len(text)
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]


@pytest.mark.parametrize("char", ["A", "k", "7", "Q"])
def test_char_job_returns_top5(app_client, char: str) -> None:
    job = _poll(
        app_client, _submit(app_client, render_png(char, size=40), mode="char", engines="tesseract").get_json()["id"]
    )
    result = job["result"]
    assert result["character"] == char
    assert 0.0 < result["confidence"] <= 1.0
    assert 1 <= len(result["top5"]) <= 5
    assert result["top5"][0]["character"] == char


def test_auto_mode_picks_char_and_text(app_client) -> None:
    char_job = _poll(app_client, _submit(app_client, render_png("W", 40), engines="tesseract").get_json()["id"])
    text_job = _poll(app_client, _submit(app_client, render_png("auto mode", 36), engines="tesseract").get_json()["id"])
    assert (char_job["result"]["mode"], char_job["result"]["character"]) == ("char", "W")
    assert (text_job["result"]["mode"], text_job["result"]["text"]) == ("line", "auto mode")


def test_json_base64_submission(app_client) -> None:
    body = {
        "image": base64.b64encode(render_png("base sixty four")).decode(),
        "mode": "text",
        "engines": ["tesseract"],
        "method": "confidence",
    }
    response = app_client.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.get_json()
    job = _poll(app_client, response.get_json()["id"])
    assert job["result"]["text"] == "base sixty four"
    assert job["result"]["method"] == "confidence"


def test_second_identical_job_is_answered_from_cache(app_client, redis_client) -> None:
    png = render_png(f"cache {uuid.uuid4().hex[:6]}")
    first = _poll(app_client, _submit(app_client, png, mode="text", engines="tesseract").get_json()["id"])
    assert first["status"] == "succeeded" and first["cached"] is False
    tasks_before = int(redis_client.llen("engine.tesseract"))
    second = _submit(app_client, png, mode="text", engines="tesseract")
    body = second.get_json()
    # Answered at once: finished in the submit response, and no engine task was queued.
    assert body["status"] == "succeeded" and body["cached"] is True
    assert body["result"]["text"] == first["result"]["text"]
    assert int(redis_client.llen("engine.tesseract")) == tasks_before
    different_options = _submit(app_client, png, mode="text", engines="tesseract", method="majority").get_json()
    assert different_options["cached"] is False


def test_idempotency_key_gives_the_same_job(app_client) -> None:
    png = render_png("idempotent")
    key = uuid.uuid4().hex
    first = app_client.post(
        "/v1/jobs",
        data={"image": (io.BytesIO(png), "a.png"), "mode": "text"},
        headers={"Idempotency-Key": key},
        content_type="multipart/form-data",
    )
    again = app_client.post(
        "/v1/jobs",
        data={"image": (io.BytesIO(png), "a.png"), "mode": "text"},
        headers={"Idempotency-Key": key},
        content_type="multipart/form-data",
    )
    assert first.status_code == again.status_code == 202
    assert first.get_json()["id"] == again.get_json()["id"]
    other_body = app_client.post(
        "/v1/jobs",
        data={"image": (io.BytesIO(render_png("other")), "a.png")},
        headers={"Idempotency-Key": key},
        content_type="multipart/form-data",
    )
    assert other_body.status_code == 422
    assert other_body.get_json()["error"]["code"] == "idempotency_conflict"


def test_failing_engine_is_reported_while_others_vote(app_client) -> None:
    response = _submit(app_client, render_png("still works"), mode="text", engines="tesseract,broken")
    job = _poll(app_client, response.get_json()["id"])
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["text"] == "still works"
    assert [f["engine"] for f in result["failed_engines"]] == ["broken"]
    assert result["failed_engines"][0]["code"] == "failed"
    assert "simulated crash" in result["engines"]["broken"]["error"]["message"]
    assert "broken" not in result["model_versions"]


def test_job_fails_cleanly_when_every_engine_fails(app_client) -> None:
    job = _poll(app_client, _submit(app_client, render_png("nothing"), mode="text", engines="broken").get_json()["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "all_engines_failed"


def test_unknown_job_is_404_json(app_client) -> None:
    response = app_client.get("/v1/jobs/does-not-exist")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "job_not_found"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not an image at all", 415, "unsupported_format"),
        (b"", 400, "empty_image"),
        (render_png("cut")[:60], 422, "corrupt_image"),
    ],
)
def test_bad_images_get_4xx_json_and_queue_nothing(
    app_client, redis_client, body: bytes, status: int, code: str
) -> None:
    before = int(redis_client.llen("engine.tesseract"))
    response = _submit(app_client, body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert int(redis_client.llen("engine.tesseract")) == before


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"mode": "paragraph"}, "invalid_request"),
        ({"engines": "tesseract,nope"}, "unknown_engine"),
        ({"preset": "nope"}, "unknown_preset"),
        ({"weights": "{bad"}, "invalid_weights"),
        ({"method": "median"}, "invalid_request"),
    ],
)
def test_bad_options_get_422(app_client, form: dict, code: str) -> None:
    response = _submit(app_client, render_png("x"), **form)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == code


def test_predict_endpoints_answer_synchronously(app_client) -> None:
    char = app_client.post(
        "/v1/predict",
        data={"image": (io.BytesIO(render_png("G", 40)), "g.png"), "engines": "tesseract"},
        content_type="multipart/form-data",
    )
    assert char.status_code == 200, char.get_json()
    body = char.get_json()
    assert body["character"] == "G" and body["predictions"]["tesseract"]["text"] == "G"
    assert len(body["top5"]) >= 1 and body["processing_time_ms"] > 0
    text = app_client.post(
        "/v1/predict_text", json={"image": base64.b64encode(render_png("sync line")).decode(), "engines": ["tesseract"]}
    )
    assert text.status_code == 200 and text.get_json()["text"] == "sync line"


def test_batch_predict_keeps_order_and_isolates_bad_items(app_client) -> None:
    images = [render_png("first"), b"garbage", render_png("third")]
    body = {"images": [base64.b64encode(i).decode() for i in images], "mode": "text", "engines": ["tesseract"]}
    response = app_client.post("/v1/batch_predict", json=body)
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert results[0]["result"]["text"] == "first" and results[2]["result"]["text"] == "third"
    assert results[1]["status"] == "rejected" and results[1]["error"]["code"] == "unsupported_format"


def test_through_gunicorn_submit_poll_and_docs(live_server: str) -> None:
    with requests.Session() as http:
        response = http.post(
            f"{live_server}/v1/jobs",
            files={"image": ("w.png", render_png("gunicorn served"))},
            data={"mode": "text", "engines": "tesseract"},
            timeout=10,
        )
        assert response.status_code == 202
        job = wait_job(lambda jid: http.get(f"{live_server}/v1/jobs/{jid}", timeout=10).json(), response.json()["id"])
        assert job["result"]["text"] == "gunicorn served"
        assert http.get(f"{live_server}/ready", timeout=5).json()["redis"] is True
        spec = http.get(f"{live_server}/openapi.json", timeout=5).json()
        assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/predict", "/v1/predict_text", "/v1/batch_predict"} <= set(
            spec["paths"]
        )
        docs = http.get(f"{live_server}/docs", timeout=5)
        assert docs.status_code == 200 and "/docs/static/swagger-ui-bundle.js" in docs.text
        assert http.get(f"{live_server}/docs/static/swagger-ui-bundle.js", timeout=5).status_code == 200
