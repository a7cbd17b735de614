"""Reading order of line boxes: single column, two columns under a title, rows of segments."""

from __future__ import annotations

from engines.layout import block_box, reading_blocks, reading_order


def _ordered(boxes):
    return [boxes[i] for i in reading_order(boxes)]


def test_empty_page() -> None:
    assert reading_order([]) == []


def test_single_column_reads_top_to_bottom_whatever_the_input_order() -> None:
    lines = [(10, 10 + 40 * row, 300 - 20 * (row % 2), 40 + 40 * row) for row in range(5)]
    shuffled = [lines[i] for i in (3, 0, 4, 1, 2)]
    assert _ordered(shuffled) == lines


def test_two_columns_under_a_title_are_read_column_by_column() -> None:
    title = (20, 10, 780, 50)
    left = [(20, 80 + 40 * row, 380, 110 + 40 * row) for row in range(4)]
    right = [(420, 80 + 40 * row, 780, 110 + 40 * row) for row in range(4)]
    # Paragraph breaks at the same height in both columns must not interleave the columns.
    left.append((20, 300, 380, 330))
    right.append((420, 300, 780, 330))
    footer = (20, 400, 780, 430)
    interleaved = [title, *[box for pair in zip(left, right, strict=True) for box in pair], footer]
    assert _ordered(interleaved) == [title, *left, *right, footer]


def test_segments_of_one_row_read_left_to_right() -> None:
    # Small word gaps are not gutters: three segments on one line stay in one band, left to right.
    row = [(200, 10, 260, 40), (10, 12, 80, 40), (90, 10, 190, 41)]
    assert _ordered(row) == [(10, 12, 80, 40), (90, 10, 190, 41), (200, 10, 260, 40)]


def test_order_is_a_permutation() -> None:
    boxes = [(i * 7 % 500, i * 13 % 700, i * 7 % 500 + 50, i * 13 % 700 + 20) for i in range(40)]
    assert sorted(reading_order(boxes)) == list(range(40))


def _column(left: int, right: int, top: int, rows: int, pitch: int = 40) -> list[tuple[int, int, int, int]]:
    return [(left, top + pitch * row, right, top + pitch * row + 28) for row in range(rows)]


def _blocks_of(boxes):
    return [[boxes[i] for i in block] for block in reading_blocks(boxes)]


def test_three_columns_under_a_header_with_a_caption_are_blocks_in_reading_order() -> None:
    header = (40, 20, 1160, 70)
    first = _column(40, 380, 120, 6)
    caption = (40, 400, 300, 420)  # a short caption under a figure in the first column, after a gap
    first_after = _column(40, 380, 470, 4)
    second = _column(420, 760, 120, 12)
    third = _column(800, 1160, 120, 12)
    footer = (40, 640, 1160, 670)
    lines = [header, *first, caption, *first_after, *second, *third, footer]
    shuffled = sorted(lines, key=lambda b: (b[1] // 40, b[0]))  # row by row: the interleaved order
    assert _ordered(shuffled) == lines
    assert _blocks_of(shuffled) == [[header], first, [caption], first_after, second, third, [footer]]


def test_a_single_column_with_two_paragraphs_is_two_blocks() -> None:
    first = _column(40, 800, 40, 5)
    second = _column(40, 800, 300, 4)  # a gap of more than a line between them
    assert _blocks_of([*second, *first]) == [first, second]


def test_block_box_surrounds_its_lines() -> None:
    boxes = [(10, 10, 100, 30), (12, 40, 90, 60), (500, 10, 600, 30)]
    assert block_box(boxes, [0, 1]) == [10, 10, 100, 60]


def test_a_short_footer_under_the_left_column_comes_after_the_right_column() -> None:
    # Header and footer are narrower than the left column: they must not become part of it.
    header = (40, 20, 400, 48)
    left = _column(40, 500, 120, 8)
    right = _column(600, 1060, 120, 8)
    footer = (40, 600, 380, 628)
    assert _ordered([footer, *right, *left, header]) == [header, *left, *right, footer]
    assert _blocks_of([footer, *right, *left, header]) == [[header], left, right, [footer]]


def test_a_header_over_the_right_column_is_read_first() -> None:
    header = (700, 20, 1060, 48)
    left = _column(40, 500, 120, 6)
    right = _column(600, 1060, 120, 6)
    assert _ordered([*left, *right, header]) == [header, *left, *right]


def test_columns_whose_lines_are_not_aligned_are_still_read_column_by_column() -> None:
    # Each right line overlaps two left lines vertically: all lines chain into one band.
    left = _column(40, 500, 100, 10, pitch=30)
    right = [(600, 115 + 30 * row, 1060, 143 + 30 * row) for row in range(10)]
    assert _ordered(sorted([*left, *right], key=lambda b: b[1])) == [*left, *right]
