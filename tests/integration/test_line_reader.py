"""Our line recognizer through the real API on its own worker and queue, on real kept-apart lines."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from evaluation.manifest import load_items
from evaluation.normalize import normalise
from evaluation.realdata import in_final_check
from tests.integration.conftest import wait_job
from tests.rendering import cer
from training.real import DEFAULT_DATA_DIR

pytestmark = pytest.mark.integration
SHARED = DEFAULT_DATA_DIR


def _kept_apart(group: str, count: int) -> list[tuple[Path, str]]:
    manifest = SHARED / "real-fit" / "manifest.tsv"
    if not manifest.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{manifest} is missing")
        pytest.skip(f"{manifest} is missing")
    items = [i for i in load_items(manifest) if i.groups.get("group") == group and in_final_check(i, 0.2)]
    return [(i.path, i.truth) for i in items[:count]]


def _submit(client, path: Path, **form) -> str:
    data = {"image": (io.BytesIO(path.read_bytes()), path.name), "cache": "false", **form}
    response = client.post("/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def test_real_handwritten_lines_read_by_the_line_reader_worker(app_client, line_reader_worker) -> None:
    lines = _kept_apart("handwritten", 6)
    ids = [_submit(app_client, path, mode="text", engines="line_reader") for path, _ in lines]
    edits = total = 0.0
    for job_id, (_, truth) in zip(ids, lines, strict=True):
        job = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), job_id)
        assert job["status"] == "succeeded", job
        result = job["result"]
        assert result["failed_engines"] == []
        assert result["model_versions"]["line_reader"].startswith("line_reader/v1-")
        view = result["engines"]["line_reader"]
        assert len(view["char_confidences"]) == len(view["text"])
        edits += cer(normalise(result["text"]), normalise(truth)) * len(truth)
        total += len(truth)
    # Hands the model never saw; PP-OCR alone reads this group at about a third of characters wrong.
    assert edits / total < 0.35


def test_line_reader_and_paddleocr_vote_on_a_printed_line(app_client, line_reader_worker, model_workers) -> None:
    (path, truth), *_ = _kept_apart("printed-line", 1)
    job = wait_job(
        lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(),
        _submit(app_client, path, mode="text", engines="line_reader,paddleocr"),
    )
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert set(result["engines"]) >= {"line_reader", "paddleocr"}
    assert cer(normalise(result["engines"]["line_reader"]["text"]), normalise(truth)) < 0.15
