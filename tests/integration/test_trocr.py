"""A line job through the real API with the shipped TrOCR model on its own worker, offline."""

from __future__ import annotations

import io

import pytest

from tests.integration.conftest import render_png, wait_job
from tests.rendering import cer

pytestmark = pytest.mark.integration


def _run(client, png: bytes, **form) -> dict:
    data = {"image": (io.BytesIO(png), "line.png"), "cache": "false", **form}
    response = client.post("/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    return wait_job(lambda jid: client.get(f"/v1/jobs/{jid}").get_json(), response.get_json()["id"])


def test_line_job_carries_trocr_hypothesis_and_char_confidences(app_client, trocr_worker) -> None:
    text = "Deliver 250 boxes on Monday"
    job = _run(app_client, render_png(text, size=32), mode="text", engines="trocr,tesseract")
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["failed_engines"] == []
    view = result["engines"]["trocr"]
    assert "trocr_small_synth-v1" in result["model_versions"]["trocr"]
    assert len(view["char_confidences"]) == len(view["text"]) > 0
    assert all(0.0 <= c <= 1.0 for c in view["char_confidences"])
    # The shipped small model is weak (MODEL_CARD: CER 0.41 on augmented held-out fonts), but on a clean printed
    # line it must read most of the characters, not merely answer something.
    assert cer(view["text"], text) < 0.5, view["text"]


def test_char_job_ranks_trocr_alternatives(app_client, trocr_worker) -> None:
    job = _run(app_client, render_png("R", size=40), mode="char", engines="trocr")
    assert job["status"] == "succeeded", job
    top5 = job["result"]["engines"]["trocr"]["top5"]
    assert 1 <= len(top5) <= 5
    assert "R" in [c["character"] for c in top5]
