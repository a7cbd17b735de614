"""Reading order for detected text lines, respecting columns (a recursive XY-cut).

Joining detector boxes top-to-bottom then left-to-right interleaves the columns of a magazine or
newspaper page. Here a group of boxes is split at a vertical gutter when one exists (columns, read
left to right); otherwise into horizontal bands, where neighbouring bands that share a gutter are kept
together so each column is read to its end before the next begins.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

from engines.base import Box


def reading_order(boxes: Sequence[Box]) -> list[int]:
    """Indices of ``boxes`` in reading order."""
    if not boxes:
        return []
    gutter = max(1.0, median(b[3] - b[1] for b in boxes))
    return _order(list(range(len(boxes))), boxes, gutter)


def _order(group: list[int], boxes: Sequence[Box], gutter: float) -> list[int]:
    if len(group) <= 1:
        return group
    columns = _split(group, boxes, axis=0, min_gap=gutter)
    if len(columns) > 1:
        return [i for column in columns for i in _order(column, boxes, gutter)]
    bands = _split(group, boxes, axis=1, min_gap=1.0)
    if len(bands) == 1:
        return _rows_left_to_right(group, boxes)
    merged: list[list[int]] = []
    for band in bands:
        if merged and len(_split(merged[-1] + band, boxes, axis=0, min_gap=gutter)) > 1:
            merged[-1] = merged[-1] + band  # same gutter runs through both bands: one column region
        else:
            merged.append(band)
    if len(merged) == 1:
        # Every band shares one gutter: read the region column by column.
        return [i for column in _split(merged[0], boxes, axis=0, min_gap=gutter) for i in _order(column, boxes, gutter)]
    return [i for band in merged for i in _order(band, boxes, gutter)]


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
