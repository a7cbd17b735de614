"""Engine-side image preparation on hand-made arrays whose right answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from engines.base import BadImage, EngineError
from engines.preprocess import (
    INK_CONTRAST,
    GlyphInput,
    border_level,
    crop_to_ink,
    crop_to_ink_at,
    dark_ink_on_light,
    ink_box,
    ink_runs,
    limit_height,
    to_gray,
)


def paper(height: int, width: int, level: int = 255) -> np.ndarray:
    """A blank gray page."""
    return np.full((height, width), level, dtype=np.uint8)


def with_ink(page: np.ndarray, top: int, bottom: int, left: int, right: int, level: int = 0) -> np.ndarray:
    """``page`` with a filled ink rectangle (rows ``top:bottom``, columns ``left:right``)."""
    page = page.copy()
    page[top:bottom, left:right] = level
    return page


# --- to_gray -----------------------------------------------------------------------------------


def test_to_gray_returns_a_gray_array_unchanged() -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert to_gray(gray) is gray


@pytest.mark.parametrize(
    ("colour", "expected"),
    [
        ((0, 0, 0), 0),
        ((255, 255, 255), 255),
        ((255, 0, 0), 76),
        ((0, 255, 0), 150),
        ((0, 0, 255), 29),
        ((100, 100, 100), 100),
    ],
)
def test_to_gray_uses_luma_weights_on_rgb(colour: tuple[int, int, int], expected: int) -> None:
    crop = np.full((2, 3, 3), colour, dtype=np.uint8)
    gray = to_gray(crop)
    assert gray.shape == (2, 3)
    assert gray.dtype == np.uint8
    assert set(gray.ravel().tolist()) == {expected}


def test_to_gray_ignores_the_alpha_channel() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, size=(5, 6, 3), dtype=np.uint8)
    for alpha in (0, 128, 255):
        rgba = np.dstack([rgb, np.full((5, 6), alpha, dtype=np.uint8)])
        np.testing.assert_array_equal(to_gray(rgba), to_gray(rgb))


@pytest.mark.parametrize("shape", [(7,), (4, 5, 1), (4, 5, 2), (4, 5, 5), (2, 4, 5, 3)])
def test_to_gray_refuses_other_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(BadImage, match=r"got shape") as caught:
        to_gray(np.zeros(shape, dtype=np.uint8))
    assert isinstance(caught.value, EngineError)
    assert caught.value.code == "bad_image"


# --- polarity --------------------------------------------------------------------------------


def test_border_level_is_the_median_of_the_outer_pixels() -> None:
    page = with_ink(paper(10, 10, 200), 1, 9, 1, 9, level=0)
    assert border_level(page) == 200


def test_dark_ink_on_light_leaves_black_on_white_alone() -> None:
    page = with_ink(paper(10, 12), 3, 7, 3, 9)
    assert dark_ink_on_light(page) is page


def test_dark_ink_on_light_inverts_white_on_black() -> None:
    page = with_ink(paper(10, 12, 0), 3, 7, 3, 9, level=255)
    page[5, 5] = 40
    inverted = dark_ink_on_light(page)
    np.testing.assert_array_equal(inverted, 255 - page)
    assert inverted.dtype == np.uint8


def test_dark_ink_on_light_decides_on_the_border_not_the_ink_area() -> None:
    # Mostly black, but on a white border: that is ink on paper already.
    page = with_ink(paper(20, 20), 1, 19, 1, 19)
    assert dark_ink_on_light(page) is page


@pytest.mark.parametrize(("level", "inverted"), [(127, True), (128, False)])
def test_dark_ink_on_light_threshold_is_mid_gray(level: int, inverted: bool) -> None:
    page = paper(6, 6, level)
    assert (dark_ink_on_light(page) is not page) == inverted


# --- ink_box and crop_to_ink ---------------------------------------------------------------


def test_ink_box_is_exact_and_right_bottom_exclusive() -> None:
    page = with_ink(paper(20, 30), 5, 10, 3, 12)
    assert ink_box(page) == (3, 5, 12, 10)


def test_ink_box_spans_separate_blobs() -> None:
    page = with_ink(with_ink(paper(20, 30), 2, 4, 20, 25), 12, 17, 6, 8)
    assert ink_box(page) == (6, 2, 25, 17)


def test_ink_box_of_a_single_pixel() -> None:
    page = paper(9, 9)
    page[4, 6] = 0
    assert ink_box(page) == (6, 4, 7, 5)


def test_ink_box_is_none_on_blank_paper() -> None:
    assert ink_box(paper(10, 10)) is None
    assert ink_box(paper(10, 10, 0)) is None


def test_ink_must_be_darker_than_paper_by_the_contrast() -> None:
    faint = with_ink(paper(10, 10), 4, 6, 4, 6, level=255 - INK_CONTRAST)
    assert ink_box(faint) is None
    visible = with_ink(paper(10, 10), 4, 6, 4, 6, level=255 - INK_CONTRAST - 1)
    assert ink_box(visible) == (4, 4, 6, 6)


def test_ink_is_measured_against_the_paper_level() -> None:
    page = with_ink(paper(10, 10, 150), 2, 5, 3, 7, level=80)
    assert ink_box(page) == (3, 2, 7, 5)


def test_crop_to_ink_uses_the_minimum_margin_on_small_ink() -> None:
    page = with_ink(paper(100, 100), 40, 50, 30, 50)  # 10 high, 20 wide: 15% of 20 is 3 < 4
    cropped = crop_to_ink(page)
    assert cropped is not None
    assert cropped.shape == (10 + 8, 20 + 8)
    np.testing.assert_array_equal(cropped[4:14, 4:24], 0)
    cropped[4:14, 4:24] = 255
    assert (cropped == 255).all()


def test_crop_to_ink_margin_follows_the_ink_height() -> None:
    # 40 high, 60 wide: margin round(0.15 * 40) = 6, whatever the width (a long line gets no wider margin).
    page = with_ink(paper(100, 100), 10, 50, 20, 80)
    cropped = crop_to_ink(page)
    assert cropped is not None
    assert cropped.shape == (40 + 12, 60 + 12)
    assert ink_box(cropped) == (6, 6, 66, 46)


def test_crop_to_ink_at_reports_the_origin() -> None:
    page = with_ink(paper(100, 100), 10, 50, 20, 80)
    found = crop_to_ink_at(page)
    assert found is not None
    _, origin = found
    assert origin == (20 - 6, 10 - 6)


def test_crop_to_ink_with_explicit_margins() -> None:
    page = with_ink(paper(50, 50), 10, 20, 15, 40)
    cropped = crop_to_ink(page, margin_ratio=0.0, min_margin=1)
    assert cropped is not None
    assert cropped.shape == (12, 27)
    assert ink_box(cropped) == (1, 1, 26, 11)


def test_crop_to_ink_keeps_the_ink_pixels_and_fills_with_the_paper_level() -> None:
    page = paper(30, 30, 210)
    page[10:14, 12:15] = np.arange(12, dtype=np.uint8).reshape(4, 3) * 10
    cropped = crop_to_ink(page, margin_ratio=0.0, min_margin=2)
    assert cropped is not None
    np.testing.assert_array_equal(cropped[2:6, 2:5], page[10:14, 12:15])
    assert cropped.dtype == np.uint8
    cropped[2:6, 2:5] = 210
    assert (cropped == 210).all()


def test_crop_to_ink_is_none_when_blank() -> None:
    assert crop_to_ink(paper(20, 20)) is None


# --- limit_height ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "max_height", "expected"),
    [
        ((200, 100), 50, (50, 25)),
        ((90, 300), 30, (30, 100)),
        ((97, 500), 96, (96, 495)),
        ((1000, 1), 10, (10, 1)),
    ],
)
def test_limit_height_shrinks_keeping_the_aspect(shape, max_height: int, expected: tuple[int, int]) -> None:
    shrunk = limit_height(paper(*shape, level=128), max_height)
    assert shrunk.shape == expected
    assert shrunk.dtype == np.uint8


@pytest.mark.parametrize("shape", [(50, 80), (20, 400), (1, 1)])
def test_limit_height_never_enlarges(shape: tuple[int, int]) -> None:
    page = paper(*shape)
    assert limit_height(page, 50) is page


def test_limit_height_keeps_the_picture() -> None:
    page = paper(200, 200)
    page[:, 100:] = 0  # right half black
    shrunk = limit_height(page, 20)
    assert shrunk.shape == (20, 20)
    assert (shrunk[:, :8] > 240).all()
    assert (shrunk[:, 12:] < 15).all()


# --- ink_runs ------------------------------------------------------------------------------


def test_ink_runs_is_zero_on_blank_paper() -> None:
    assert ink_runs(paper(10, 40)) == 0


def test_ink_runs_counts_one_blob() -> None:
    assert ink_runs(with_ink(paper(20, 40), 5, 15, 10, 20)) == 1


def test_ink_runs_counts_separated_blobs() -> None:
    page = paper(20, 60)
    for left in (5, 20, 35, 50):
        page = with_ink(page, 5, 15, left, left + 5)
    assert ink_runs(page) == 4


def test_ink_runs_merges_blobs_that_share_columns() -> None:
    # One above the other (like the dot of an i): one column run.
    page = with_ink(with_ink(paper(30, 20), 3, 6, 8, 11), 10, 25, 7, 12)
    assert ink_runs(page) == 1


def test_ink_runs_merges_touching_columns_and_splits_on_a_one_column_gap() -> None:
    touching = with_ink(with_ink(paper(20, 30), 2, 8, 5, 10), 12, 18, 10, 15)
    assert ink_runs(touching) == 1
    gap = with_ink(with_ink(paper(20, 30), 5, 15, 5, 10), 5, 15, 11, 15)
    assert ink_runs(gap) == 2


def test_ink_runs_counts_blobs_at_the_left_edge() -> None:
    page = paper(20, 30)
    page[5:15, 0:3] = 0
    page[5:15, 20:25] = 0
    assert ink_runs(page) == 2


# --- GlyphInput: how a lone character is shown to an engine ----------------------------------------


def test_glyph_input_cuts_to_the_ink_with_a_margin_of_the_ink_height() -> None:
    page = with_ink(paper(100, 100), 10, 50, 40, 60)  # 40 high, 20 wide
    glyph = GlyphInput(margin=0.5).prepare(page)
    assert glyph is not None
    assert glyph.shape == (40 + 40, 20 + 40)
    assert ink_box(glyph) == (20, 20, 40, 60)


def test_glyph_input_gives_a_glyph_touching_the_edges_its_margin() -> None:
    tight = with_ink(with_ink(paper(30, 12), 0, 30, 5, 8), 12, 15, 0, 12)  # a cross cropped to its ink
    glyph = GlyphInput(margin=0.5).prepare(tight)
    assert glyph is not None
    assert glyph.shape == (30 + 30, 12 + 30)
    assert ink_box(glyph) == (15, 15, 27, 45)
    np.testing.assert_array_equal(glyph[15:45, 15:27], tight)


def test_glyph_input_keeps_at_least_the_minimum_margin() -> None:
    page = with_ink(paper(60, 60), 20, 30, 20, 25)  # 10 high: 0.15 of it is 2 px < 4
    glyph = GlyphInput(margin=0.15).prepare(page)
    assert glyph is not None
    assert glyph.shape == (10 + 8, 5 + 8)
    assert GlyphInput(margin=0.0, min_margin=0).prepare(page).shape == (10, 5)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("ink_height", "input_", "scaled_to"),
    [
        (12, GlyphInput(margin=0.5, min_height=24), 24),
        (40, GlyphInput(margin=0.5, min_height=24), 40),
        (40, GlyphInput(margin=0.5, max_height=24), 24),
        (12, GlyphInput(margin=0.5, max_height=24), 12),
        (12, GlyphInput(margin=0.5, min_height=24, max_height=24), 24),
        (80, GlyphInput(margin=0.5, min_height=24, max_height=24), 24),
    ],
)
def test_glyph_input_scales_the_ink_to_its_height_limits_keeping_the_aspect(
    ink_height: int, input_: GlyphInput, scaled_to: int
) -> None:
    page = with_ink(paper(200, 200), 50, 50 + ink_height, 50, 50 + ink_height // 2)
    glyph = input_.prepare(page)
    assert glyph is not None
    margin = max(4, round(0.5 * scaled_to))
    assert glyph.shape == (scaled_to + 2 * margin, scaled_to // 2 + 2 * margin)
    left, top, right, bottom = ink_box(glyph) or (0, 0, 0, 0)
    assert (top, bottom - top) == (margin, scaled_to)
    assert abs((right - left) - scaled_to // 2) <= 1


def test_glyph_input_makes_the_ink_dark_on_light_paper_of_the_crops_own_level() -> None:
    page = with_ink(paper(50, 50, 20), 10, 30, 15, 25, level=230)  # light ink on a dark sign
    glyph = GlyphInput(margin=0.5).prepare(page)
    assert glyph is not None
    assert int(glyph[0, 0]) == 255 - 20
    assert int(glyph[glyph.shape[0] // 2, glyph.shape[1] // 2]) == 255 - 230


def test_glyph_input_as_sent_keeps_the_whole_crop_with_polarity_fixed() -> None:
    page = with_ink(paper(50, 70, 0), 10, 30, 15, 25, level=255)
    glyph = GlyphInput(margin=None, min_height=100).prepare(page)
    assert glyph is not None
    np.testing.assert_array_equal(glyph, 255 - page)


@pytest.mark.parametrize("level", [0, 128, 255])
def test_glyph_input_of_a_blank_crop_is_none(level: int) -> None:
    for margin in (None, 0.5):
        assert GlyphInput(margin=margin).prepare(paper(40, 40, level)) is None
    assert GlyphInput(margin=0.5).prepare(np.zeros((0, 0), dtype=np.uint8)) is None
