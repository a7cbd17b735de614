"""The cheap upright test: a printed page read clearly the right way up skips Tesseract's orientation
detection; a page turned a quarter or half a turn is still turned by OSD (real page of ../shared/data)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engines import orientation
from engines.paddleocr import PaddleOcrEngine
from engines.upright_check import UprightCheck, text_window, upright_check_for
from training.real import DEFAULT_DATA_DIR

PAGE = DEFAULT_DATA_DIR / "real-fit" / "ocrd-gt-structure-text" / "pages" / "clauren_mimil_1815_0023.jpg"


@pytest.fixture(scope="module")
def check() -> UprightCheck:
    return UprightCheck(PaddleOcrEngine(threads=1))


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    with Image.open(PAGE) as image:
        return np.asarray(image.convert("L"))


def test_a_printed_page_the_right_way_up_skips_orientation_detection(
    check: UprightCheck, page: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert check(page)
    expected = orientation.upright(page)[1]

    def no_osd(*_: object) -> tuple[int, float]:
        raise AssertionError("orientation detection ran on a page the check found upright")

    monkeypatch.setattr(orientation, "detect_rotation", no_osd)
    _, transform = orientation.upright(page, is_upright=check)
    assert (transform.rotation, transform.skew) == (expected.rotation, expected.skew) == (0, expected.skew)


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_a_turned_page_is_left_to_orientation_detection(
    check: UprightCheck, page: np.ndarray, quarter_turns: int
) -> None:
    turned = np.ascontiguousarray(np.rot90(page, quarter_turns))
    assert not check(turned)
    _, transform = orientation.upright(turned, is_upright=check)
    # np.rot90 turns counter-clockwise; OSD names the clockwise turn the page is in.
    assert transform.rotation == 360 - 90 * quarter_turns
    without_check = orientation.upright(turned)[1]
    assert (transform.rotation, transform.skew) == (without_check.rotation, without_check.skew)


def test_a_blank_page_has_no_text_window() -> None:
    assert text_window(np.full((800, 600), 255, np.uint8)) is None


def test_only_the_engines_it_was_measured_with_get_the_check() -> None:
    class Other:
        name = "tesseract"

    assert upright_check_for(Other()) is None  # type: ignore[arg-type]
