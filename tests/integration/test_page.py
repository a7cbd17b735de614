"""Page jobs through the real API with Tesseract, EasyOCR and PP-OCR: lines, boxes, votes, accuracy."""

from __future__ import annotations

import io

import pytest

from tests.integration.conftest import draw_page, wait_job
from tests.rendering import cer, contains

pytestmark = pytest.mark.integration
ENGINES = ["tesseract", "easyocr", "paddleocr"]
LINES = [
    "Quarterly report for the board",
    "Revenue rose 12% to 4,310 units",
    "Shipping delays ended in March",
    "Next review: 14 June 2027",
]


def render_page(lines: list[str], size: int = 30) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """A printed page (DejaVu Sans) as PNG and the ink box of each line as drawn."""
    page, boxes = draw_page(lines, size)
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue(), boxes


@pytest.fixture(scope="module")
def page_job(app_client, model_workers) -> dict:
    png, _ = render_page(LINES)
    response = app_client.post(
        "/v1/jobs",
        data={"image": (io.BytesIO(png), "page.png"), "mode": "page", "engines": ",".join(ENGINES), "cache": "false"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    return wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), response.get_json()["id"], timeout=90)


def test_page_lines_come_back_in_reading_order_with_boxes_around_their_text(page_job) -> None:
    assert page_job["status"] == "succeeded", page_job
    result = page_job["result"]
    assert result["mode"] == "page" and result["layout"] == {"engine": "paddleocr", "error": None}
    _, drawn = render_page(LINES)
    lines = result["lines"]
    assert len(lines) == len(LINES)
    for line, expected, ink in zip(lines, LINES, drawn, strict=True):
        assert cer(line["text"], expected) <= 0.05, (line["text"], expected)
        assert contains(line["box"], ink, slack=4), (line["box"], ink)
        assert set(line["engines"]) == set(ENGINES)
    assert result["text"].count("\n") == len(LINES) - 1


def test_page_words_have_boxes_inside_their_line(page_job) -> None:
    for line in page_job["result"]["lines"]:
        assert [word["text"] for word in line["words"]] == line["text"].split()
        for word in line["words"]:
            assert word["box"] is not None
            assert contains(line["box"], tuple(word["box"]), slack=0)


def test_every_engine_voted_and_none_failed(page_job) -> None:
    result = page_job["result"]
    assert result["failed_engines"] == []
    assert set(result["engines"]) == set(ENGINES) == set(result["model_versions"])


def test_ensemble_is_at_least_as_good_as_the_best_engine_on_the_page(page_job) -> None:
    reference = "\n".join(LINES)
    result = page_job["result"]
    engine_cer = {name: cer(view["text"], reference) for name, view in result["engines"].items()}
    ensemble_cer = cer(result["text"], reference)
    assert ensemble_cer <= min(engine_cer.values()), (ensemble_cer, engine_cer)


def test_text_mode_on_a_page_image_detects_lines(app_client, model_workers) -> None:
    png, _ = render_page(LINES[:2])
    response = app_client.post(
        "/v1/predict_text",
        data={"image": (io.BytesIO(png), "page.png"), "engines": "paddleocr,tesseract"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [cer(line["text"], ref) <= 0.05 for line, ref in zip(body["lines"], LINES[:2], strict=True)] == [True, True]
