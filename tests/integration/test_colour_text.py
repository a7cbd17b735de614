"""Photographed-sign text through the whole job path: light text on a dark sign, low-contrast colour text.

Both used to vanish before PP-OCR saw them: a fixed gray threshold for "ink" found no ink in dark blue on
lighter blue, and white on red was cut and binarised on the wrong polarity. The engines now get the crop
as sent (PP-OCR) or its own gray levels with polarity decided from the crop (the others).
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from engines.preprocess import INK_CONTRAST, to_gray
from tests.integration.conftest import wait_job

pytestmark = pytest.mark.integration
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def sign(text: str, ink: tuple[int, int, int], board: tuple[int, int, int], size: int = 44) -> bytes:
    """``text`` painted in ``ink`` on a ``board`` colour, softened like a photograph, as PNG bytes."""
    font = ImageFont.truetype(BOLD, size)
    left, top, right, bottom = font.getbbox(text)
    pad = size // 3
    image = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), board)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=ink)
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(0.8)).save(buffer, format="PNG")
    return buffer.getvalue()


SIGNS = {
    "light on dark": ("Dubrovnik", (250, 250, 245), (190, 30, 35)),
    "low contrast": ("Harbour", (40, 70, 150), (85, 125, 195)),
}


def test_the_low_contrast_sign_is_below_the_old_fixed_ink_threshold() -> None:
    # The premise of the test below: in gray, letters and board differ by less than INK_CONTRAST.
    _, ink, board = SIGNS["low contrast"]
    import numpy as np

    levels = to_gray(np.array([[ink, board]], dtype=np.uint8))[0]
    assert abs(int(levels[0]) - int(levels[1])) < INK_CONTRAST


@pytest.mark.parametrize("case", sorted(SIGNS))
def test_paddleocr_reads_colour_signs_through_the_job_path(app_client, model_workers, case: str) -> None:
    word, ink, board = SIGNS[case]
    data = {"image": (io.BytesIO(sign(word, ink, board)), "sign.png"), "mode": "line", "engines": "paddleocr,tesseract"}
    response = app_client.post("/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    job = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), response.get_json()["id"], timeout=60)
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["engines"]["paddleocr"]["text"] == word, result["engines"]
    assert result["text"] == word
    (line,) = result["lines"]
    assert line["selected"] in (None, "paddleocr", "tesseract")
    assert all(span["text"] for span in line["disagreements"])
    assert result["kind"] == "line"
