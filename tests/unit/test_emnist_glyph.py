"""EMNIST-style normalisation (engines/glyph.py), shared by training and the CNN engine."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from engines.glyph import (
    BOX,
    GLYPH_SIZE,
    dilate,
    ink_map,
    normalize_glyph,
    normalize_ink,
    stroke_width,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def render(char: str, size: int = 48, stroke: int = 0) -> np.ndarray:
    """Black ``char`` on white paper."""
    font = ImageFont.truetype(FONT, size)
    image = Image.new("L", (size * 2, size * 2), 255)
    ImageDraw.Draw(image).text((size // 2, size // 4), char, font=font, fill=0, stroke_width=stroke)
    return np.asarray(image, dtype=np.uint8)


def centre_of_mass(glyph: np.ndarray) -> tuple[float, float]:
    mass = glyph.astype(float)
    rows, cols = np.indices(glyph.shape)
    return float((rows * mass).sum() / mass.sum()), float((cols * mass).sum() / mass.sum())


@pytest.mark.parametrize("char", ["A", "g", "1", "W", "-"])
def test_glyph_is_white_on_black_28x28_in_a_20px_box_centred_by_mass(char: str) -> None:
    glyph = normalize_glyph(render(char))
    assert glyph is not None and glyph.shape == (GLYPH_SIZE, GLYPH_SIZE) and glyph.dtype == np.uint8
    rows, cols = np.nonzero(glyph)
    assert max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) <= BOX
    assert glyph[0].max() == glyph[-1].max() == 0  # black paper
    row, col = centre_of_mass(glyph)
    assert abs(row - 14) <= 1.0 and abs(col - 14) <= 1.0


@pytest.mark.parametrize("char", ["A", "g", "1", "W", "8", "i"])
def test_normalisation_is_idempotent(char: str) -> None:
    once = normalize_glyph(render(char))
    assert once is not None
    assert np.array_equal(normalize_glyph(once), once)


def test_polarity_does_not_matter() -> None:
    dark_on_light = render("R")
    assert np.array_equal(normalize_glyph(dark_on_light), normalize_glyph(255 - dark_on_light))


def test_blank_and_faint_crops_have_no_glyph() -> None:
    assert normalize_glyph(np.full((40, 40), 255, np.uint8)) is None
    assert normalize_glyph(np.zeros((40, 40), np.uint8)) is None
    faint = np.full((40, 40), 200, np.uint8)
    faint[10:30, 18:22] = 170  # 30 levels of contrast: paper texture, not ink
    assert normalize_glyph(faint) is None
    assert normalize_ink(np.zeros((10, 10), np.float32)) is None


def test_gray_paper_and_ink_are_stretched_to_full_contrast() -> None:
    page = np.full((60, 60), 180, np.uint8)
    page[10:50, 28:34] = 90
    ink = ink_map(page)
    assert ink is not None and ink.max() == pytest.approx(1.0) and ink[0, 0] == 0.0


def test_thin_strokes_on_a_large_canvas_are_thickened() -> None:
    canvas = np.zeros((300, 300), np.uint8)
    canvas[30:270, 148:150] = 255  # a 2 px stroke, 240 px tall: 0.17 px once scaled to 20
    glyph = normalize_glyph(canvas)
    assert glyph is not None
    assert stroke_width(glyph.astype(np.float32) / 255.0) >= 1.5
    assert glyph.max() == 255


def test_stroke_width_and_dilation() -> None:
    bar = np.zeros((40, 40), np.float32)
    bar[5:35, 10:13] = 1.0
    assert stroke_width(bar) == pytest.approx(3.0, rel=0.15)
    assert stroke_width(dilate(bar, 2)) == pytest.approx(7.0, rel=0.2)
    assert dilate(bar, 0) is bar
