"""Page orientation (real Tesseract OSD), skew and the box transform, on pages rendered with DejaVu Sans.

Conventions under test (engines/orientation.py): a page "in rotation r" is the upright page turned r
degrees clockwise, which is ``np.rot90(page, -r // 90)`` (numpy turns counter-clockwise for positive k);
a skew is clockwise, so PIL's counter-clockwise ``Image.rotate(a)`` makes a page of skew ``-a``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from engines.orientation import (
    MIN_OSD_CONFIDENCE,
    MIN_SKEW_DEGREES,
    PageTransform,
    detect_rotation,
    estimate_skew,
    upright,
)
from tests.rendering import FONT, contains

TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
Box = tuple[int, int, int, int]

PARAGRAPHS = [
    "The committee met on Tuesday morning to review the budget for the coming year. Most of the "
    "discussion was about the cost of repairing the old library roof, which has leaked every winter "
    "since the storm. After a long debate the members agreed to ask the town council for a grant.",
    "Please remember that the office will be closed on Monday for the public holiday. Any letters that "
    "arrive during the weekend will be sorted on Tuesday, and urgent parcels can be collected from the "
    "reception desk at the north entrance between nine and five.",
    "Our new bakery opens next month on the corner of Market Street. We will sell fresh bread, cakes and "
    "coffee every day except Sunday, and the first hundred customers will receive a free loaf with any "
    "order. We look forward to meeting all our neighbours.",
    "The train to the coast was late again this morning because of a signal fault near the bridge. "
    "Passengers were offered tea and biscuits while they waited, and most of them reached the seaside "
    "just before lunch, tired but in good spirits.",
    "If you would like to join the walking club, please write your name and telephone number on the list "
    "by the door. We meet at the church gate every Saturday at eight and walk for about three hours, "
    "whatever the weather.",
    "Thank you for your letter of the fourth of June. I am sorry that the parcel arrived damaged, and a "
    "replacement has been sent to you today by first class post.",
]


def wrap(font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """The paragraphs broken into lines no wider than ``width`` pixels, a blank line between them."""
    lines: list[str] = []
    for paragraph in PARAGRAPHS:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if font.getlength(candidate) > width and line:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.extend([line, ""])
    return lines[:-1]


def render_text_page() -> tuple[np.ndarray, list[Box]]:
    """A 1200x1600 white page of 20+ lines of 28 px text, and the ink box of each line."""
    font = ImageFont.truetype(FONT, 28)
    page = Image.new("L", (1200, 1600), 255)
    draw = ImageDraw.Draw(page)
    boxes: list[Box] = []
    for row, text in enumerate(wrap(font, 1040)):
        if text:
            origin = (80, 90 + 50 * row)
            draw.text(origin, text, font=font, fill=0)
            left, top, right, bottom = (int(v) for v in draw.textbbox(origin, text, font=font))
            boxes.append((left, top, right, bottom))
    return np.asarray(page, dtype=np.uint8), boxes


PAGE, LINES = render_text_page()
TURNS = (90, 180, 270)


def turned(image: np.ndarray, rotation: int) -> np.ndarray:
    """``image`` turned ``rotation`` degrees clockwise."""
    return np.ascontiguousarray(np.rot90(image, -rotation // 90))


def skewed(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` turned counter-clockwise by ``degrees`` (PIL), canvas enlarged, corners white."""
    picture = Image.fromarray(image).rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return np.asarray(picture, dtype=np.uint8)


def skewed_box(box: Box, degrees: float, size: tuple[int, int], new_size: tuple[int, int]) -> Box:
    """Where ``box`` of a ``size`` page lands after :func:`skewed`: the bounds of its turned corners."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    (cx, cy), (nx, ny) = (size[0] / 2, size[1] / 2), (new_size[0] / 2, new_size[1] / 2)
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
        # Counter-clockwise on screen (y down) about the centre, which lands on the new centre.
        xs.append(cos * (x - cx) + sin * (y - cy) + nx)
        ys.append(-sin * (x - cx) + cos * (y - cy) + ny)
    return math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys))


def ink_lines(gray: np.ndarray) -> list[Box]:
    """The ink box of each band of inked rows (one per text line on a level page)."""
    ink = gray < 128
    rows = ink.any(axis=1)
    boxes: list[Box] = []
    top = None
    for y, inked in enumerate(np.append(rows, False)):
        if inked and top is None:
            top = y
        elif not inked and top is not None:
            cols = np.flatnonzero(ink[top:y].any(axis=0))
            boxes.append((int(cols[0]), top, int(cols[-1]) + 1, y))
            top = None
    return boxes


@pytest.fixture(scope="module")
def corrected_turns() -> dict[int, tuple[np.ndarray, np.ndarray, PageTransform]]:
    """Each quarter turn of the page: (turned page, upright's image, upright's transform)."""
    results = {}
    for rotation in TURNS:
        page = turned(PAGE, rotation)
        image, transform = upright(page, TESSDATA)
        results[rotation] = (page, image, transform)
    return results


@pytest.fixture(scope="module")
def corrected_skews() -> dict[float, tuple[np.ndarray, np.ndarray, PageTransform]]:
    """The page skewed by PIL's +-3 degrees: (skewed page, upright's image, upright's transform)."""
    results = {}
    for degrees in (3.0, -3.0):
        page = skewed(PAGE, degrees)
        image, transform = upright(page, TESSDATA)
        results[degrees] = (page, image, transform)
    return results


# --- the test page itself ----------------------------------------------------------------------


def test_the_page_is_a_realistic_page_of_print() -> None:
    assert PAGE.shape == (1600, 1200)
    assert len(LINES) >= 20
    assert LINES[-1][3] < 1560
    # textbbox is the glyphs' boxes, which overhang the ink by a side bearing or two.
    assert ink_lines(PAGE) == [pytest.approx(box, abs=4) for box in LINES]


# --- detect_rotation -----------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", [0, *TURNS])
def test_detect_rotation_names_the_clockwise_turn_the_page_is_in(rotation: int) -> None:
    found, confidence = detect_rotation(turned(PAGE, rotation), TESSDATA)
    assert found == rotation
    assert confidence >= MIN_OSD_CONFIDENCE


def test_detect_rotation_finds_osd_through_the_tessdata_setting() -> None:
    # No path: the OCR_TESSDATA_PATH setting the Tesseract engine uses (Debian's folder by default).
    assert detect_rotation(turned(PAGE, 270))[0] == 270


def test_numpy_turns_clockwise_for_negative_k() -> None:
    # The premise of every turned page here: the page's top-left corner ends up at the top right.
    marked = np.zeros((2, 3), dtype=np.uint8)
    marked[0, 0] = 1
    assert turned(marked, 90)[0, -1] == 1


@pytest.mark.parametrize(
    "image",
    [
        np.full((1600, 1200), 255, np.uint8),
        np.full((1600, 1200), 30, np.uint8),
        np.zeros((1, 1), np.uint8),
        np.full((5, 7, 3), 200, np.uint8),
    ],
    ids=["white", "dark", "1x1", "tiny-rgb"],
)
def test_nothing_to_judge_is_not_turned(image: np.ndarray) -> None:
    assert detect_rotation(image, TESSDATA) == (0, 0.0)
    assert estimate_skew(image) == 0.0
    corrected, transform = upright(image, TESSDATA)
    assert corrected is image
    assert transform.is_identity
    assert transform.original_size == (image.shape[1], image.shape[0])


def test_too_little_text_is_not_turned() -> None:
    font = ImageFont.truetype(FONT, 28)
    page = Image.new("L", (1200, 1600), 255)
    ImageDraw.Draw(page).text((100, 100), "Hello world", font=font, fill=0)
    assert detect_rotation(turned(np.asarray(page), 90), TESSDATA) == (0, 0.0)


def test_noise_is_not_turned_on_a_guess() -> None:
    # Tesseract answers random dots with arbitrary orientations at confidences up to ~3 (this image:
    # 180 degrees at 0.4 with tesserocr's Tesseract 5.5 and Debian's osd.traineddata).
    rng = np.random.default_rng(1)
    noise = np.where(rng.random((400, 300)) < 0.3, 0, 255).astype(np.uint8)
    assert detect_rotation(noise, TESSDATA) == (0, 0.0)


def test_without_osd_data_no_page_is_turned(tmp_path: Path) -> None:
    page = turned(PAGE, 180)
    assert detect_rotation(page, tmp_path) == (0, 0.0)
    corrected, transform = upright(page, tmp_path)
    assert corrected is page
    assert transform.is_identity


# --- upright and to_original on quarter turns ----------------------------------------------------


def test_an_upright_page_is_returned_as_it_is() -> None:
    corrected, transform = upright(PAGE, TESSDATA)
    assert corrected is PAGE
    assert transform == PageTransform.identity(1200, 1600)
    assert transform.is_identity


@pytest.mark.parametrize("rotation", TURNS)
def test_upright_undoes_a_quarter_turn_exactly(
    rotation: int, corrected_turns: dict[int, tuple[np.ndarray, np.ndarray, PageTransform]]
) -> None:
    page, corrected, transform = corrected_turns[rotation]
    np.testing.assert_array_equal(corrected, PAGE)
    assert transform.rotation == rotation
    assert transform.skew == 0.0
    assert transform.original_size == (page.shape[1], page.shape[0])
    assert transform.corrected_size == (1200, 1600)
    assert not transform.is_identity


@pytest.mark.parametrize("rotation", TURNS)
def test_to_original_finds_the_same_ink_on_the_turned_page(
    rotation: int, corrected_turns: dict[int, tuple[np.ndarray, np.ndarray, PageTransform]]
) -> None:
    page, corrected, transform = corrected_turns[rotation]
    for box in [LINES[0], LINES[len(LINES) // 2], LINES[-1], (0, 0, 1200, 1600), (100, 200, 101, 201)]:
        left, top, right, bottom = box
        mapped = transform.to_original(box)
        x0, y0, x1, y1 = mapped
        assert (x1 - x0) * (y1 - y0) == (right - left) * (bottom - top)
        np.testing.assert_array_equal(page[y0:y1, x0:x1], turned(corrected[top:bottom, left:right], rotation))


def test_upright_keeps_rgb_pages_rgb() -> None:
    rgb = np.stack([PAGE, PAGE, np.full_like(PAGE, 250)], axis=-1)
    corrected, transform = upright(turned(rgb, 90), TESSDATA)
    assert transform.rotation == 90
    np.testing.assert_array_equal(corrected, rgb)


# --- estimate_skew and straightening -------------------------------------------------------------


@pytest.mark.parametrize("degrees", [3.0, -3.0, 0.5, 7.0])
def test_estimate_skew_measures_the_clockwise_tilt(degrees: float) -> None:
    assert estimate_skew(skewed(PAGE, degrees)) == pytest.approx(-degrees, abs=0.3)


def test_small_tilts_are_left_alone() -> None:
    assert estimate_skew(PAGE) == 0.0
    tilted = skewed(PAGE, 0.15)
    assert estimate_skew(tilted) == 0.0
    assert abs(estimate_skew(tilted, min_degrees=0.0)) < MIN_SKEW_DEGREES


def test_estimate_skew_ignores_a_dark_picture_on_the_page() -> None:
    page = PAGE.copy()
    page[1000:1400, 100:1100] = np.random.default_rng(2).integers(0, 120, (400, 1000), dtype=np.uint8)
    assert estimate_skew(skewed(page, 3.0)) == pytest.approx(-3.0, abs=0.3)


def test_estimate_skew_finds_no_lines_in_noise() -> None:
    rng = np.random.default_rng(3)
    assert estimate_skew(np.where(rng.random((1000, 800)) < 0.2, 0, 255).astype(np.uint8)) == 0.0


@pytest.mark.parametrize("degrees", [3.0, -3.0])
def test_upright_straightens_a_skewed_page(
    degrees: float, corrected_skews: dict[float, tuple[np.ndarray, np.ndarray, PageTransform]]
) -> None:
    page, corrected, transform = corrected_skews[degrees]
    assert transform.rotation == 0
    assert transform.skew == pytest.approx(-degrees, abs=0.3)
    assert transform.original_size == (page.shape[1], page.shape[0])
    assert transform.corrected_size == (corrected.shape[1], corrected.shape[0])
    # The canvas grew so that nothing was cut off, and the new corners are paper, not black.
    assert corrected.shape[0] > page.shape[0] and corrected.shape[1] > page.shape[1]
    assert corrected[0, 0] == corrected[-1, -1] == 255
    assert abs(estimate_skew(corrected, min_degrees=0.0)) < 0.3
    # Level again: one band of ink per line, each about as tall as the line was drawn.
    bands = ink_lines(corrected)
    assert len(bands) == len(LINES)
    assert all(abs((b[3] - b[1]) - (line[3] - line[1])) <= 4 for b, line in zip(bands, LINES, strict=True))


@pytest.mark.parametrize("degrees", [3.0, -3.0])
def test_to_original_covers_the_skewed_line(
    degrees: float, corrected_skews: dict[float, tuple[np.ndarray, np.ndarray, PageTransform]]
) -> None:
    page, corrected, transform = corrected_skews[degrees]
    size, new_size = (PAGE.shape[1], PAGE.shape[0]), (page.shape[1], page.shape[0])
    for band, line in zip(ink_lines(corrected), LINES, strict=True):
        expected = skewed_box(line, degrees, size, new_size)
        mapped = transform.to_original(band)
        assert contains(mapped, expected, slack=3), (mapped, expected)
        assert contains(expected, mapped, slack=6), (mapped, expected)  # and not much more


def test_upright_turns_then_straightens() -> None:
    tilted = skewed(PAGE, 3.0)
    page = turned(tilted, 90)
    corrected, transform = upright(page, TESSDATA)
    assert transform.rotation == 90
    assert transform.skew == pytest.approx(-3.0, abs=0.3)
    assert abs(estimate_skew(corrected, min_degrees=0.0)) < 0.3
    size, new_size = (PAGE.shape[1], PAGE.shape[0]), (tilted.shape[1], tilted.shape[0])
    for band, line in zip(ink_lines(corrected), LINES, strict=True):
        # The line on the tilted page, then turned a quarter clockwise with the page (as a mask).
        left, top, right, bottom = skewed_box(line, 3.0, size, new_size)
        mask = np.zeros(tilted.shape, dtype=bool)
        mask[top:bottom, left:right] = True
        rows, cols = np.nonzero(turned(mask, 90))
        expected = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
        assert contains(transform.to_original(band), expected, slack=3)


# --- PageTransform -------------------------------------------------------------------------------


def test_identity_maps_boxes_to_themselves_and_clips() -> None:
    transform = PageTransform.identity(100, 50)
    assert transform.is_identity
    assert transform.to_original((10, 5, 20, 15)) == (10, 5, 20, 15)
    assert transform.to_original((-5, -5, 200, 80)) == (0, 0, 100, 50)
    assert transform.to_original((150, 60, 170, 70)) == (100, 50, 100, 50)


def test_quarter_turn_corners_map_to_the_turned_corners() -> None:
    # Every pixel of the corrected page maps back to the one pixel of the original it was taken from.
    original = np.arange(5000).reshape(50, 100)
    for rotation in TURNS:
        corrected = np.rot90(original, rotation // 90)
        height, width = corrected.shape
        transform = PageTransform(rotation, 0.0, (100, 50), (width, height))
        for x, y in ((0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1), (7, 3)):
            x0, y0, x1, y1 = transform.to_original((x, y, x + 1, y + 1))
            assert (x1 - x0, y1 - y0) == (1, 1)
            assert original[y0, x0] == corrected[y, x]


def test_page_transform_is_frozen_and_checks_its_rotation() -> None:
    transform = PageTransform.identity(10, 10)
    with pytest.raises(AttributeError):
        transform.rotation = 90  # type: ignore[misc]
    with pytest.raises(ValueError, match="rotation"):
        PageTransform(45, 0.0, (10, 10), (10, 10))
