"""Reading order of line boxes: single column, two columns under a title, rows of segments."""

from __future__ import annotations

from engines.layout import reading_order


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
