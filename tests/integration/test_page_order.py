"""Reading order on a real two-column scan through the page job's layout step, with the real PP-OCR detector
and Tesseract's real page layout analysis, scored against the page's own PAGE XML reading order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from config.settings import get_settings
from engines.paddleocr import PaddleOcrEngine
from engines.page_regions import TesseractRegions
from evaluation.page_order import load_regions, order_errors, region_ranks
from jobs.page_layout import find_lines, upright_page

pytestmark = pytest.mark.integration
PAGE = Path(__file__).resolve().parents[1] / "fixtures" / "pages" / "ruempler_gartenbau_1882_0014"
SCALE = 2.0  # the fixture image is half the size the XML's coordinates describe


@pytest.fixture(scope="module")
def read_order() -> list[int | None]:
    """The ground-truth region rank of every line, in the order the page job reads the lines."""
    settings = get_settings()
    paddle = PaddleOcrEngine.from_settings(settings)
    finder = TesseractRegions(settings.tessdata_path, settings.tesseract_lang)
    pixels = np.array(Image.open(PAGE.with_suffix(".jpg")).convert("RGB"))
    page, transform = upright_page(pixels)
    boxes = find_lines(page, paddle, finder)["boxes"]
    back = transform.to_original if transform is not None else (lambda box: box)
    centres = []
    for box in boxes:
        left, top, right, bottom = back(tuple(box))
        centres.append(((left + right) / 2 * SCALE, (top + bottom) / 2 * SCALE))
    return region_ranks(centres, load_regions(PAGE.with_suffix(".xml")))


def test_a_real_two_column_page_is_read_column_by_column(read_order) -> None:
    placed = [rank for rank in read_order if rank is not None]
    assert len(placed) >= 100  # the page has about 120 lines of text
    assert order_errors(read_order).error <= 0.02


def test_the_running_head_comes_before_both_columns(read_order) -> None:
    regions = {region.rank: region for region in load_regions(PAGE.with_suffix(".xml"))}
    head = next(rank for rank, region in regions.items() if region.kind == "header")
    body = [rank for rank in read_order if rank is not None and regions[rank].kind == "paragraph"]
    first_head = read_order.index(head)
    assert all(read_order.index(rank) > first_head for rank in body)


def test_the_left_column_under_its_figure_ends_before_the_right_column_begins(read_order) -> None:
    # In the ground truth, the left column's regions are read before any of the right column's.
    regions = load_regions(PAGE.with_suffix(".xml"))
    middle = (min(x for r in regions for x, _ in r.polygon) + max(x for r in regions for x, _ in r.polygon)) / 2
    left = {r.rank for r in regions if r.kind == "paragraph" and max(x for x, _ in r.polygon) < middle + 50}
    right = {r.rank for r in regions if r.kind == "paragraph" and min(x for x, _ in r.polygon) > middle - 50}
    positions = {rank: [i for i, r in enumerate(read_order) if r == rank] for rank in left | right}
    last_left = max(i for rank in left for i in positions[rank])
    first_right = min(i for rank in right for i in positions[rank])
    assert left and right and last_left < first_right
