"""``auto`` mode: a single rendered glyph is read as a character, anything wider as text."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from jobs.images import ValidatedImage, validate_image
from jobs.resolution import decide_mode

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def upload(image: Image.Image, fmt: str = "PNG") -> ValidatedImage:
    """``image`` encoded and validated as the API would on upload."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return validate_image(buffer.getvalue(), max_bytes=10_000_000, max_pixels=10_000_000)


def rendered(text: str, size: int = 40, pad: int = 12, white_on_black: bool = False) -> Image.Image:
    """``text`` in DejaVu Sans, black on white (or inverted), on a gray image."""
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=0)
    if white_on_black:
        return Image.fromarray(255 - np.asarray(image))
    return image


@pytest.mark.parametrize("char", ["R", "A", "g", "i", "j", "7", "W", "%"])
def test_single_glyph_is_char(char: str) -> None:
    assert decide_mode(upload(rendered(char)), "auto") == "char"


def test_single_glyph_on_a_wide_page_is_char() -> None:
    page = Image.new("L", (400, 80), 255)
    page.paste(rendered("K"), (180, 10))
    assert decide_mode(upload(page), "auto") == "char"


def test_white_on_black_glyph_is_char() -> None:
    assert decide_mode(upload(rendered("B", white_on_black=True)), "auto") == "char"


def test_rgb_glyph_is_char() -> None:
    assert decide_mode(upload(rendered("5").convert("RGB"), "JPEG"), "auto") == "char"


@pytest.mark.parametrize("text", ["hello", "OCR", "42", "Hello OCR world"])
def test_rendered_word_is_a_line(text: str) -> None:
    assert decide_mode(upload(rendered(text)), "auto") == "line"


def test_white_on_black_word_is_a_line() -> None:
    assert decide_mode(upload(rendered("words", white_on_black=True)), "auto") == "line"


def test_one_wide_blob_is_a_line() -> None:
    # A single ink run, but far wider than a glyph (a dash rule, a joined script word).
    page = np.full((40, 200), 255, dtype=np.uint8)
    page[18:22, 20:180] = 0
    assert decide_mode(upload(Image.fromarray(page)), "auto") == "line"


@pytest.mark.parametrize("level", [255, 0, 128])
def test_blank_image_is_char(level: int) -> None:
    assert decide_mode(upload(Image.new("L", (120, 60), level)), "auto") == "char"


@pytest.mark.parametrize(("name", "mode"), [("char_R.png", "char"), ("hello.png", "line")])
def test_shipped_samples_are_decided_as_expected(name: str, mode: str) -> None:
    data = (SAMPLES / name).read_bytes()
    assert decide_mode(validate_image(data, max_bytes=10_000_000, max_pixels=10_000_000), "auto") == mode


def _lines(texts: list[str]) -> Image.Image:
    rows = [np.asarray(rendered(text)) for text in texts]
    width = max(row.shape[1] for row in rows)
    page = np.full((sum(row.shape[0] for row in rows), width), 255, dtype=np.uint8)
    top = 0
    for row in rows:
        page[top : top + row.shape[0], : row.shape[1]] = row
        top += row.shape[0]
    return Image.fromarray(page)


@pytest.mark.parametrize("requested", ["auto", "text"])
def test_several_rows_of_text_are_a_page(requested: str) -> None:
    assert decide_mode(upload(_lines(["first line", "second one", "third"])), requested) == "page"


def test_dots_of_i_and_j_do_not_make_a_second_row() -> None:
    assert decide_mode(upload(rendered("mini jiji")), "text") == "line"


def test_a_line_lost_in_a_large_image_is_a_page() -> None:
    page = np.full((600, 600), 255, dtype=np.uint8)
    word = np.asarray(rendered("sign"))
    page[300 : 300 + word.shape[0], 100 : 100 + word.shape[1]] = word
    assert decide_mode(upload(Image.fromarray(page)), "text") == "page"


@pytest.mark.parametrize("requested", ["char", "line", "page"])
def test_explicit_modes_are_taken_as_asked(requested: str) -> None:
    assert decide_mode(upload(rendered("hello")), requested) == requested


def test_text_on_a_blank_image_is_a_line() -> None:
    assert decide_mode(upload(Image.new("L", (120, 60), 255)), "text") == "line"


def _sign(text: str, ink: tuple[int, int, int], board: tuple[int, int, int]) -> Image.Image:
    """``text`` painted on a coloured board, as a photographed sign."""
    font = ImageFont.truetype(FONT, 40)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGB", (right - left + 24, bottom - top + 24), board)
    ImageDraw.Draw(image).text((12 - left, 12 - top), text, font=font, fill=ink)
    return image


@pytest.mark.parametrize("requested", ["auto", "text"])
def test_a_low_contrast_word_is_text_not_a_blank_character(requested: str) -> None:
    # Dark blue on lighter blue is below the fixed ink contrast: without stretching it, no ink was found
    # and auto mode answered "char" (one character read from a whole word).
    assert decide_mode(upload(_sign("Harbour", (40, 70, 150), (85, 125, 195))), requested) == "line"
