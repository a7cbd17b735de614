"""Reading order for detected text lines, respecting columns (a recursive XY-cut).

Joining detector boxes top-to-bottom then left-to-right interleaves the columns of a magazine or
newspaper page. Here a group of boxes is first cut into horizontal bands (lines that overlap vertically).
Neighbouring bands that share a column gutter form one region, read column by column, so each column is
read to its end before the next begins; a region of one band whose lines chain across the page (columns
whose lines are not aligned) is split at its gutter. A header, footer or caption band on one side of the
gutter only joins the region next to it when it is close to it or lies between two of its bands: a page
footer set under the left column stays after the right column instead of ending the left one.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Any

from engines.base import Box

# A band further than this many line heights from a region is not part of it unless it has columns too.
NEAR_LINES = 1.5


def reading_order(boxes: Sequence[Box]) -> list[int]:
    """Indices of ``boxes`` in reading order."""
    if not boxes:
        return []
    line_height = max(1.0, median(b[3] - b[1] for b in boxes))
    return _order(list(range(len(boxes))), boxes, line_height)


def reading_blocks(boxes: Sequence[Box]) -> list[list[int]]:
    """Indices of ``boxes`` in reading order, grouped into blocks (a column's paragraph, a header, a caption).

    A new block starts where the next line in reading order goes back up the page (the next column),
    leaves a gap taller than a line, or does not share at least half its width with the block so far.
    """
    order = reading_order(boxes)
    if not order:
        return []
    line_height = max(1.0, median(b[3] - b[1] for b in boxes))
    blocks: list[list[int]] = [[order[0]]]
    left, right = boxes[order[0]][0], boxes[order[0]][2]
    for index in order[1:]:
        previous, box = boxes[blocks[-1][-1]], boxes[index]
        gap = box[1] - previous[3]
        shared = min(right, box[2]) - max(left, box[0])
        narrower = min(right - left, box[2] - box[0])
        if box[3] <= previous[1] or gap > line_height or shared < 0.5 * max(1, narrower):
            blocks.append([index])
            left, right = box[0], box[2]
        else:
            blocks[-1].append(index)
            left, right = min(left, box[0]), max(right, box[2])
    return blocks


def block_box(boxes: Sequence[Sequence[int]], members: Sequence[int]) -> list[int]:
    """The box around the lines ``members`` of ``boxes``."""
    chosen = [boxes[i] for i in members]
    return [min(b[0] for b in chosen), min(b[1] for b in chosen), max(b[2] for b in chosen), max(b[3] for b in chosen)]


def _order(group: list[int], boxes: Sequence[Box], line_height: float) -> list[int]:
    if len(group) <= 1:
        return group
    gutter = line_height  # a gap between columns is at least a line height wide
    bands = _split(group, boxes, axis=1, min_gap=1.0)
    if len(bands) == 1:
        columns = _split(group, boxes, axis=0, min_gap=gutter)
        if len(columns) > 1:
            return [i for column in columns for i in _order(column, boxes, line_height)]
        return _rows_left_to_right(group, boxes)
    regions = _regions(bands, boxes, line_height)
    if len(regions) == 1:
        # Every band shares one gutter: read the region column by column.
        columns = _split(regions[0], boxes, axis=0, min_gap=gutter)
        return [i for column in columns for i in _order(column, boxes, line_height)]
    return [i for region in regions for i in _order(region, boxes, line_height)]


def _regions(bands: list[list[int]], boxes: Sequence[Box], line_height: float) -> list[list[int]]:
    """Neighbouring bands grouped where they share a column gutter (see the module's docstring)."""
    gutter = line_height
    columned = [len(_split(band, boxes, axis=0, min_gap=gutter)) > 1 for band in bands]
    regions: list[list[int]] = []
    region_columned = False
    for number, band in enumerate(bands):
        if regions and len(_split(regions[-1] + band, boxes, axis=0, min_gap=gutter)) > 1:
            gap = min(boxes[i][1] for i in band) - max(boxes[i][3] for i in regions[-1])
            near = gap <= NEAR_LINES * line_height
            between = region_columned and number + 1 < len(bands) and columned[number + 1]
            if near or (region_columned and (columned[number] or between)):
                regions[-1] = regions[-1] + band
                region_columned = region_columned or columned[number]
                continue
        regions.append(list(band))
        region_columned = columned[number]
    return regions


def _rows_left_to_right(group: list[int], boxes: Sequence[Box]) -> list[int]:
    """Boxes that touch vertically: group them into rows by their centres, each read left to right."""
    by_centre = sorted(group, key=lambda i: boxes[i][1] + boxes[i][3])
    rows: list[list[int]] = []
    for index in by_centre:
        box = boxes[index]
        if rows:
            first = boxes[rows[-1][0]]
            if abs((box[1] + box[3]) - (first[1] + first[3])) / 2 <= 0.5 * (first[3] - first[1]):
                rows[-1].append(index)
                continue
        rows.append([index])
    return [i for row in rows for i in sorted(row, key=lambda i: boxes[i][0])]


def _split(group: list[int], boxes: Sequence[Box], axis: int, min_gap: float) -> list[list[int]]:
    """Split ``group`` where the projection on ``axis`` (0: x, 1: y) has a gap of at least ``min_gap``."""
    start, end = axis, axis + 2
    ordered = sorted(group, key=lambda i: (boxes[i][start], boxes[i][end]))
    parts: list[list[int]] = [[ordered[0]]]
    reach = boxes[ordered[0]][end]
    for index in ordered[1:]:
        if boxes[index][start] - reach >= min_gap:
            parts.append([index])
        else:
            parts[-1].append(index)
        reach = max(reach, boxes[index][end])
    return parts


def block_records(groups: Sequence[Sequence[int]], boxes: Sequence[Sequence[int]]) -> list[dict[str, Any]]:
    """The blocks of a page as results list them, from :func:`reading_blocks`' ``groups``: each block's
    box and the indexes of its lines in ``boxes``, which hold the lines in reading order, block after block."""
    blocks: list[dict[str, Any]] = []
    start = 0
    for group in groups:
        members = list(range(start, start + len(group)))
        blocks.append({"box": block_box(boxes, members), "lines": members})
        start += len(group)
    return blocks
