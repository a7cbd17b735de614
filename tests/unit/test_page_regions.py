"""Tesseract's page layout as regions: real Tesseract on rendered two-column pages."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from config.settings import get_settings
from engines.page_regions import MAX_SIDE, TesseractRegions

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = [
    "the",
    "river",
    "rose",
    "in",
    "march",
    "and",
    "the",
    "mill",
    "stood",
    "still",
    "for",
    "nine",
    "days",
    "while",
    "the",
    "town",
    "waited",
]


def two_columns() -> np.ndarray:
    """A page with a title across two columns of ten lines each."""
    font, title = ImageFont.truetype(FONT, 22), ImageFont.truetype(FONT, 34)
    page = Image.new("L", (1200, 900), 255)
    draw = ImageDraw.Draw(page)
    draw.text((300, 40), "Annual report of the river board", font=title, fill=0)
    for column, left in enumerate((60, 640)):
        for row in range(10):
            words = [WORDS[(row * 3 + column * 7 + k) % len(WORDS)] for k in range(6)]
            draw.text((left, 150 + 40 * row), " ".join(words), font=font, fill=0)
    return np.array(page)


@pytest.fixture(scope="module")
def finder() -> TesseractRegions:
    settings = get_settings()
    return TesseractRegions(settings.tessdata_path, settings.tesseract_lang)


def _columns(regions) -> tuple[list[int], list[int]]:
    left = [i for i, r in enumerate(regions) if r.box[2] < 620 and r.box[1] > 120]
    right = [i for i, r in enumerate(regions) if r.box[0] > 620 and r.box[1] > 120]
    return left, right


def test_the_title_comes_first_then_the_left_column_then_the_right(finder) -> None:
    regions = finder.find(two_columns())
    assert regions and regions[0].box[1] < 100  # the title
    left, right = _columns(regions)
    assert left and right and max(left) < min(right)


def test_a_page_larger_than_the_analysis_reads_gives_regions_on_the_page_as_sent(finder) -> None:
    # The same page at the top of a sheet longer than MAX_SIDE: analysed shrunk, answered full size.
    small = two_columns()
    page = np.full((MAX_SIDE + 1000, small.shape[1]), 255, dtype=np.uint8)
    page[: small.shape[0]] = small
    regions = finder.find(page)
    left, right = _columns(regions)
    assert left and right and max(left) < min(right)
    # On the sheet as sent: around the text drawn in its top 900 rows, not scaled to the shrunk copy.
    assert all(r.box[3] <= 560 and r.box[2] <= 1010 for r in regions), regions
    assert max(r.box[2] for r in regions) >= 930, regions


def test_a_blank_page_has_no_regions(finder) -> None:
    assert finder.find(np.full((800, 600), 255, dtype=np.uint8)) == []
