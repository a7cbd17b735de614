"""Reading order of line boxes: single column, two columns under a title, rows of segments."""

from __future__ import annotations

from engines.layout import (
    Region,
    block_box,
    heads_first,
    reading_blocks,
    reading_order,
    region_blocks,
    side_by_side,
    split_across_regions,
)


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


# Reading order by page regions (Tesseract's blocks in its order): the regions here stand in for the analysis.


def _lines(left: int, right: int, top: int, rows: int, step: int = 40) -> list[tuple[int, int, int, int]]:
    return [(left, top + step * row, right, top + step * row + 30) for row in range(rows)]


def _read(boxes, regions) -> list[tuple[int, int, int, int]]:
    return [boxes[i] for block in region_blocks(boxes, regions) for i in block]


def test_skewed_columns_are_read_by_their_regions_where_the_xy_cut_interleaves_them() -> None:
    # Lines that drift down to the right close the gutter's projection: the XY-cut sees one band per row.
    left = [(20, 100 + 40 * row, 400, 130 + 40 * row + 12) for row in range(6)]
    right = [(380, 100 + 40 * row + 14, 780, 130 + 40 * row + 26) for row in range(6)]
    boxes = [box for pair in zip(left, right, strict=True) for box in pair]
    assert [boxes[i] for i in reading_order(boxes)] != [*left, *right]
    regions = [Region((20, 100, 400, 342)), Region((380, 114, 780, 356))]
    assert _read(boxes, regions) == [*left, *right]


def test_a_heading_spanning_two_columns_comes_first() -> None:
    heading = (100, 20, 700, 60)
    left, right = _lines(20, 380, 100, 5), _lines(420, 780, 100, 5)
    boxes = [*left[:2], *right[:2], heading, *left[2:], *right[2:]]
    regions = [Region((100, 20, 700, 60), "heading"), Region((20, 100, 380, 290)), Region((420, 100, 780, 290))]
    assert _read(boxes, regions) == [heading, *left, *right]


def test_a_caption_stays_with_its_figures_column() -> None:
    # Left column: text, a figure (no lines), its caption, more text; the right column runs the full height.
    top, caption, bottom = _lines(20, 380, 100, 3), (40, 420, 360, 445), _lines(20, 380, 470, 3)
    right = _lines(420, 780, 100, 12)
    boxes = [*right, caption, *bottom, *top]
    regions = [
        Region((20, 100, 380, 190)),
        Region((40, 420, 360, 445), "caption"),
        Region((20, 470, 380, 560)),
        Region((420, 100, 780, 570)),
    ]
    assert _read(boxes, regions) == [*top, caption, *bottom, *right]


def test_each_region_starts_a_block_and_a_page_without_regions_is_the_xy_cut() -> None:
    left, right = _lines(20, 380, 100, 3), _lines(420, 780, 100, 3)
    boxes = [*left, *right]
    regions = [Region((20, 100, 380, 190)), Region((420, 100, 780, 190))]
    assert region_blocks(boxes, regions) == [[0, 1, 2], [3, 4, 5]]
    assert region_blocks(boxes, []) == reading_blocks(boxes)


def test_lines_no_region_holds_keep_their_place_after_the_line_read_before_them() -> None:
    # A handwritten note between two printed paragraphs that the analysis did not find.
    first, note, last = _lines(20, 700, 100, 3), (40, 230, 500, 262), _lines(20, 700, 300, 3)
    boxes = [*last, note, *first]
    regions = [Region((20, 100, 700, 190)), Region((20, 300, 700, 390))]
    assert _read(boxes, regions) == [*first, note, *last]


def test_a_running_head_over_the_right_column_is_read_before_the_left_column() -> None:
    head, number = Region((420, 20, 780, 50), "pullout"), Region((20, 20, 60, 50))
    left, right = Region((20, 100, 380, 900)), Region((420, 100, 780, 900))
    assert heads_first([left, head, right, number], line_height=30) == [number, head, left, right]


def test_a_tall_column_starting_lower_keeps_its_turn() -> None:
    # The left column starts under a figure: the right column's first paragraph is not a running head.
    left, right_top, right_rest = (
        Region((20, 400, 380, 900)),
        Region((420, 100, 780, 300)),
        Region((420, 310, 780, 900)),
    )
    assert heads_first([left, right_top, right_rest], line_height=30) == [left, right_top, right_rest]


def test_of_two_side_by_side_regions_read_one_after_the_other_the_left_one_comes_first() -> None:
    # A list set in two columns inside one page column, which Tesseract may give right half first.
    heading, left, right = (20, 20, 380, 50), _lines(20, 190, 100, 4), _lines(210, 380, 100, 4)
    regions = [Region((20, 20, 380, 50)), Region((210, 100, 380, 250)), Region((20, 100, 190, 250))]
    assert _read([heading, *left, *right], regions) == [heading, *left, *right]


def test_a_line_no_region_holds_stays_in_its_column() -> None:
    # Skewed columns (the XY-cut interleaves them); the analysis missed the right column's last line.
    left = [(20, 100 + 40 * row, 400, 130 + 40 * row + 12) for row in range(6)]
    right = [(380, 100 + 40 * row + 14, 780, 130 + 40 * row + 26) for row in range(6)]
    boxes = [box for pair in zip(left, right, strict=True) for box in pair]
    regions = [Region((20, 100, 400, 342)), Region((380, 114, 780, 316))]
    assert _read(boxes, regions) == [*left, *right]


def test_a_line_run_across_two_columns_is_cut_in_the_gutter() -> None:
    regions = [Region((20, 100, 390, 400)), Region((410, 100, 780, 400))]
    joined, alone = (30, 140, 770, 170), (30, 200, 380, 230)
    assert split_across_regions([joined, alone], regions, lambda box, x: x) == [
        (30, 140, 400, 170),
        (400, 140, 770, 170),
        alone,
    ]
    # No blank page in the gutter, or a line mostly in one region: it stays whole.
    assert split_across_regions([joined], regions, lambda box, x: None) == [joined]
    assert split_across_regions([(300, 140, 700, 170)], regions, lambda box, x: x) == [(300, 140, 700, 170)]


def test_the_cut_goes_where_the_page_is_blank_and_never_at_a_word_space() -> None:
    import numpy as np

    from jobs.page_layout import blank_column

    page = np.full((60, 400, 3), 255, dtype=np.uint8)
    page[20:40, 10:190] = 0  # left column's words
    page[20:40, 215:390] = 0  # right column's words, 25 px of gutter for a 30 px line
    assert 195 <= (blank_column(page, (0, 15, 400, 45), 180) or 0) <= 210
    page[20:40, 190:202] = 0  # now only 13 px: a word space, not a gutter
    assert blank_column(page, (0, 15, 400, 45), 200) is None


def test_the_last_lines_of_columns_ending_together_are_not_a_footer() -> None:
    # Each column's last paragraph is a block of one line, one line's spacing under the rest; the footer
    # sits further down.
    left, right = Region((40, 125, 406, 660)), Region((600, 125, 982, 655))
    left_end, right_end = Region((41, 681, 418, 704)), Region((602, 681, 981, 704))
    footer = Region((42, 825, 429, 848))
    regions = [left, left_end, footer, right, right_end]
    assert heads_first(regions, line_height=38) == [left, left_end, right, right_end, footer]


def test_regions_that_hold_few_of_the_lines_leave_the_order_to_the_xy_cut() -> None:
    # The analysis saw one paragraph of a handwritten page as text: its region does not reorder the page.
    lines = _lines(20, 700, 100, 8)
    regions = [Region((20, 340, 700, 410))]
    assert region_blocks(lines, regions) == reading_blocks(lines)


def test_lines_side_by_side_are_counted_and_a_single_column_has_none() -> None:
    column = [(100, 10, 400, 30), (60, 50, 500, 70), (60, 80, 480, 100), (60, 110, 300, 130)]  # title, lines
    assert side_by_side(column) == 0
    assert side_by_side([]) == 0
    two_columns = [(10, 10, 200, 30), (10, 40, 200, 60), (220, 12, 400, 32), (220, 42, 400, 62)]
    assert side_by_side(two_columns) == 2
    dated = [*column, (520, 52, 600, 72)]  # a date set right of the second line
    assert side_by_side(dated) == 1
    overlapping = [(10, 10, 300, 30), (250, 25, 500, 45)]  # touch at a corner: not a second column
    assert side_by_side(overlapping) == 0


class _Detector:
    """A layout engine that finds the given lines (unit test stand-in for PP-OCR's detector)."""

    name = "stand-in"

    def __init__(self, boxes: list[tuple[int, int, int, int]]) -> None:
        self.boxes = boxes

    def detect_lines(self, image):
        return list(self.boxes)


class _Regions:
    """A region finder that records whether it was asked."""

    def __init__(self) -> None:
        self.asked = 0

    def find(self, image):
        self.asked += 1
        return [Region((0, 0, 300, 200)), Region((300, 0, 600, 200))]


def test_the_layout_analysis_runs_only_where_lines_sit_side_by_side() -> None:
    import numpy as np

    from jobs.page_layout import find_lines

    page = np.full((200, 600), 255, np.uint8)
    regions = _Regions()
    stacked = [(20, 10, 500, 30), (20, 40, 480, 60), (20, 70, 300, 90)]
    found = find_lines(page, _Detector(stacked), regions)
    assert regions.asked == 0 and found["boxes"] == [
        list(b) for b in find_lines(page, _Detector(stacked), None)["boxes"]
    ]
    one_row = [*stacked, (520, 72, 580, 88)]  # a mark beside the last line: one row, read left to right
    find_lines(page, _Detector(one_row), regions)
    assert regions.asked == 0
    columns = [(20, 10, 280, 30), (320, 10, 580, 30), (20, 40, 280, 60), (320, 40, 580, 60)]
    found = find_lines(page, _Detector(columns), regions)
    assert regions.asked == 1
    # Read region by region: the left column, then the right.
    assert [box[0] < 300 for box in found["boxes"]] == [True, True, False, False]
