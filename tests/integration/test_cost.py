"""What a job costs, with real workers: engines with no say get no task, and a cascade sends only the
crops its first stage is unsure of to the later engines (Redis counts every recognition task delivered)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import redis

from tests.integration.conftest import make_settings, render_png, wait_job
from tests.integration.test_page import render_page

pytestmark = pytest.mark.integration
LINES = ["Quarterly report for the board", "Shipping delays ended in March", "Next review: 14 June 2027"]


def _preset(accept_above: float) -> dict:
    """Characters: Tesseract alone votes (EasyOCR has weight 0). Lines: PP-OCR votes, Tesseract goes first."""
    return {
        "weights": {"tesseract": 1.0, "paddleocr": 1.0},
        "method": "select",
        "kinds": {
            "char": {"weights": {"tesseract": 1.0, "easyocr": 0.0}, "method": "confidence"},
            "line": {
                "weights": {"tesseract": 0.0, "paddleocr": 1.0, "easyocr": 0.0},
                "method": "select",
                "cascade": {"first": {"tesseract": 0.0}, "accept_above": accept_above},
            },
        },
    }


@pytest.fixture(scope="module")
def client(main_worker, model_workers, tmp_path_factory: pytest.TempPathFactory):
    from app import create_app

    presets: Path = tmp_path_factory.mktemp("presets")
    (presets / "all_accepted.json").write_text(json.dumps(_preset(0.0)))
    (presets / "all_sent_on.json").write_text(json.dumps(_preset(1.0)))
    app = create_app(make_settings(presets_dir=presets, engines=["tesseract", "easyocr", "paddleocr"]))
    app.config["TESTING"] = True
    return app.test_client()


def _run(client, png: bytes, **form: str) -> dict:
    data = {"image": (io.BytesIO(png), "image.png"), "cache": "false", **form}
    response = client.post("/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    job = wait_job(lambda jid: client.get(f"/v1/jobs/{jid}").get_json(), response.get_json()["id"], timeout=90)
    assert job["status"] == "succeeded", job
    return job


def _tasks(redis_client: redis.Redis, job_id: str, engine: str) -> int:
    """How many recognition tasks for ``engine`` the workers received for the job."""
    return int(redis_client.get(f"ocr:deliveries:{job_id}:{engine}") or 0)


def test_an_engine_with_no_say_receives_no_task_and_a_named_one_does(client, redis_client) -> None:
    png = render_png("K", size=40)
    job = _run(client, png, mode="char", preset="all_accepted")
    assert _tasks(redis_client, job["id"], "easyocr") == 0
    assert _tasks(redis_client, job["id"], "tesseract") >= 1
    assert "easyocr" not in job["result"]["engines"]
    assert "weight 0" in job["result"]["skipped_engines"]["easyocr"]
    named = _run(client, png, mode="char", preset="all_accepted", engines="tesseract,easyocr")
    # At least once: with the tests' 6 s visibility timeout a slow first model load can see it redelivered.
    assert _tasks(redis_client, named["id"], "easyocr") >= 1
    assert named["result"]["skipped_engines"] == {} and "easyocr" in named["result"]["engines"]
    assert named["result"]["character"] == job["result"]["character"] == "K"


def test_lines_the_first_stage_is_sure_of_never_reach_the_later_engine(client, redis_client) -> None:
    png, _ = render_page(LINES)
    job = _run(client, png, mode="page", preset="all_accepted")
    result = job["result"]
    assert _tasks(redis_client, job["id"], "paddleocr") == 0
    assert result["cascade"]["escalated"] == 0 and result["cascade"]["first"] == ["tesseract"]
    assert [line["cascade"]["engines"] for line in result["lines"]] == [["tesseract"]] * len(LINES)
    assert [line["text"] for line in result["lines"]] == LINES


def test_doubtful_lines_go_to_the_later_engine_in_one_task(client, redis_client) -> None:
    png, _ = render_page(LINES)
    job = _run(client, png, mode="page", preset="all_sent_on")
    result = job["result"]
    assert _tasks(redis_client, job["id"], "paddleocr") >= 1
    assert result["cascade"]["escalated"] == len(LINES)
    assert all(line["cascade"]["accepted"] is False for line in result["lines"])
    assert [line["cascade"]["engines"] for line in result["lines"]] == [["paddleocr", "tesseract"]] * len(LINES), result
    assert all(line["selected"] == "paddleocr" for line in result["lines"])
    off = _run(client, png, mode="page", preset="all_sent_on", cascade="false")
    assert off["result"]["cascade"] is None and "tesseract" in off["result"]["skipped_engines"]
    assert _tasks(redis_client, off["id"], "tesseract") == 0
    assert [line["text"] for line in off["result"]["lines"]] == [line["text"] for line in result["lines"]]
