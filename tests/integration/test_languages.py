"""The languages option through the real API and workers: German read with the German data, refusals named."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from bench.languages_real import split
from evaluation.normalize import normalise
from tests.integration.conftest import make_settings, wait_job
from tests.rendering import cer
from training.real import DEFAULT_DATA_DIR

pytestmark = pytest.mark.integration


def _german_lines(count: int) -> list[tuple[Path, str]]:
    if not (DEFAULT_DATA_DIR / "real-fit" / "manifest.tsv").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{DEFAULT_DATA_DIR}/real-fit is missing")
        pytest.skip(f"{DEFAULT_DATA_DIR}/real-fit is missing")
    return [(item.path, item.truth) for item in split(DEFAULT_DATA_DIR)["final_deu"][:count]]


def _post(client, path: Path, **form):
    data = {"image": (io.BytesIO(path.read_bytes()), path.name), "cache": "false", "mode": "line", **form}
    return client.post("/v1/jobs", data=data, content_type="multipart/form-data")


def test_a_german_print_is_read_with_the_german_and_fraktur_data(app_client, model_workers) -> None:
    edits = total = 0.0
    for path, truth in _german_lines(4):
        response = _post(app_client, path, languages="de", engines="tesseract,paddleocr")
        assert response.status_code == 202, response.get_json()
        job = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), response.get_json()["id"])
        assert job["status"] == "succeeded", job
        result = job["result"]
        assert result["languages"] == ["deu"]
        assert "/frk+Fraktur+deu-" in result["model_versions"]["tesseract"]
        edits += cer(normalise(result["engines"]["tesseract"]["text"]), normalise(truth)) * len(truth)
        total += len(truth)
    assert edits / total < 0.08  # English data reads these 19th-century lines at about 15% CER


@pytest.fixture(scope="module")
def shipped_engines_client(main_worker):
    """An API with the shipped engines only (the session's app also enables test plugins no worker serves)."""
    from app import create_app

    app = create_app(make_settings(engines=["tesseract", "easyocr", "paddleocr", "line_reader"]))
    app.config["TESTING"] = True
    return app.test_client()


def test_engines_that_cannot_read_the_language_are_skipped_with_the_reason(
    shipped_engines_client, model_workers
) -> None:
    client = shipped_engines_client
    (path, _), *_ = _german_lines(1)
    response = _post(client, path, languages="deu", content="printed")
    assert response.status_code == 202, response.get_json()
    job = wait_job(lambda jid: client.get(f"/v1/jobs/{jid}").get_json(), response.get_json()["id"])
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert "deu" in result["skipped_engines"]["easyocr"]
    # general-deu votes on German prints with Tesseract (German data) and PP-OCR.
    assert sorted(result["model_versions"]) == ["paddleocr", "tesseract"]
    assert "/frk+Fraktur+deu-" in result["model_versions"]["tesseract"]


@pytest.mark.parametrize(
    ("form", "named"),
    [({"languages": "deu,xx"}, "'xx'"), ({"languages": "deu", "engines": "tesseract,easyocr"}, "easyocr")],
)
def test_an_unsupported_language_is_a_422_naming_it(app_client, form: dict[str, str], named: str) -> None:
    (path, _), *_ = _german_lines(1)
    response = _post(app_client, path, **form)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unsupported_language" and named in error["message"]


def test_status_lists_the_languages_of_each_engine(app_client) -> None:
    body = app_client.get("/status").get_json()
    assert {"eng", "deu", "fra"} <= set(body["languages"]["tesseract"])
    assert body["languages"]["easyocr"] == ["eng"]
    assert body["default_languages"] == ["eng"]


def test_fold_replaces_the_long_s_in_every_reading(app_client, model_workers) -> None:
    lines = [(path, truth) for path, truth in _german_lines(40) if "\u017f" in truth][:2]
    for path, _ in lines:
        response = _post(app_client, path, languages="deu", engines="tesseract,paddleocr", fold="long_s,historical")
        assert response.status_code == 202, response.get_json()
        job = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), response.get_json()["id"])
        result = job["result"]
        assert result["folds"] == ["long_s", "historical"]
        texts = [result["text"], *(view["text"] for view in result["engines"].values())]
        assert not any("\u017f" in text or "\ua75b" in text for text in texts)


def test_an_unknown_fold_is_a_422(app_client) -> None:
    (path, _), *_ = _german_lines(1)
    response = _post(app_client, path, fold="long_s,capitals")
    assert response.status_code == 422 and "capitals" in response.get_json()["error"]["message"]
