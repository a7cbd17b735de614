"""TrOCR through the real API on its own worker, offline, with a checkpoint the user gives.

No TrOCR model ships (the one trained here from rendered text could not read real lines); the adapter
stays for users who bring Microsoft's checkpoints. A tiny model trained on a few strings stands in.
"""

from __future__ import annotations

import io

import pytest

from tests.integration.conftest import wait_job
from tests.tiny_trocr import rendered

pytestmark = pytest.mark.integration


def _png(text: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rendered(text)).save(buffer, format="PNG")
    return buffer.getvalue()


def _run(client, png: bytes, **form) -> dict:
    data = {"image": (io.BytesIO(png), "line.png"), "cache": "false", **form}
    response = client.post("/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    return wait_job(lambda jid: client.get(f"/v1/jobs/{jid}").get_json(), response.get_json()["id"])


def test_line_job_carries_trocr_hypothesis_and_char_confidences(app_client, trocr_worker) -> None:
    job = _run(app_client, _png("OCR 42"), mode="text", engines="trocr,tesseract")
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["failed_engines"] == []
    view = result["engines"]["trocr"]
    assert "tiny" in result["model_versions"]["trocr"]
    assert view["text"] == "OCR 42"
    assert len(view["char_confidences"]) == len(view["text"])
    assert all(0.0 <= c <= 1.0 for c in view["char_confidences"])


def test_char_job_ranks_trocr_alternatives(app_client, trocr_worker) -> None:
    job = _run(app_client, _png("A"), mode="char", engines="trocr")
    assert job["status"] == "succeeded", job
    top5 = job["result"]["engines"]["trocr"]["top5"]
    assert 1 <= len(top5) <= 5
    assert top5[0]["character"] == "A"
