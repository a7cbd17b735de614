"""Reading order for detected text lines, respecting columns (a recursive XY-cut).

Joining detector boxes top-to-bottom then left-to-right interleaves the columns of a magazine or
newspaper page. Here a group of boxes is first cut into horizontal bands (lines that overlap vertically).
Neighbouring bands that share a column gutter form one region, read column by column, so each column is
read to its end before the next begins; a region of one band whose lines chain across the page (columns
whose lines are not aligned) is split at its gutter. A header, footer or caption band on one side of the
gutter only joins the region next to it when it is close to it or lies between two of its bands: a page
footer set under the left column stays after the right column instead of ending the left one.

:func:`region_blocks` orders the same lines by regions a page layout analysis found (Tesseract's blocks, in
its reading order): each line goes to the region that holds most of it, regions are read in their order,
the lines of one region by the XY-cut. A line no region holds follows the nearest held line above it in
its column (else the held line the XY-cut reads before it), so a page where the analysis finds nothing is
read exactly as the XY-cut reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import median
from typing import Any

from engines.base import Box

# A band further than this many line heights from a region is not part of it unless it has columns too.
NEAR_LINES = 1.5
# A line belongs to the region holding at least this share of its box; else no region holds it.
REGION_SHARE = 0.5
# The regions order a page only when they hold at least this share of its lines: where the analysis saw
# little of the page as text (handwriting, a handwritten table: 0-57% held on the fit pages, against 79-100%
# on print and typescript), its regions say little about the order and the XY-cut decides. Set nearer the
# low side of that gap: a magazine page whose pictures hold text keeps its regions.
MIN_HELD = 0.6
# A region at most this many line heights tall above (below) all others is a running head (footer).
HEAD_LINES = 2.5
# ... and set off from them by at least this many line heights (the last lines of columns ending together
# sit closer: one line's spacing).
HEAD_GAP = 0.75
# A line is cut between side-by-side regions only when each holds at least this share of its width.
SPLIT_SHARE = 0.3


@dataclass(frozen=True)
class Region:
    """A region of the page found by a layout analysis, ``box`` as (left, top, right, bottom); ``kind`` is
    the analysis's own name for it (``flowing``, ``heading``, ``caption``, ...), kept for diagnostics."""

    box: Box
    kind: str = "text"


def reading_order(boxes: Sequence[Box]) -> list[int]:
    """Indices of ``boxes`` in reading order."""
    if not boxes:
        return []
    line_height = max(1.0, median(b[3] - b[1] for b in boxes))
    return _order(list(range(len(boxes))), boxes, line_height)


def side_by_side(boxes: Sequence[Box]) -> int:
    """How many pairs of lines sit side by side: they share at least half the shorter one's height and none
    of their width (columns, a table, a form, a date set right of a line). Where none do, the lines stack in
    one column, which every order reads top to bottom: a layout analysis could not change their order."""
    ordered = sorted(boxes, key=lambda box: box[1])
    pairs = 0
    for index, upper in enumerate(ordered):
        for lower in ordered[index + 1 :]:
            if lower[1] >= upper[3]:  # sorted by top: no later line reaches up into this one
                break
            shared = min(upper[3], lower[3]) - max(upper[1], lower[1])
            apart = lower[0] >= upper[2] or upper[0] >= lower[2]
            pairs += apart and shared >= 0.5 * min(upper[3] - upper[1], lower[3] - lower[1])
    return pairs


def reading_blocks(boxes: Sequence[Box]) -> list[list[int]]:
    """Indices of ``boxes`` in reading order, grouped into blocks (a column's paragraph, a header, a caption).

    A new block starts where the next line in reading order goes back up the page (the next column),
    leaves a gap taller than a line, or does not share at least half its width with the block so far.
    """
    return _blocks_along(reading_order(boxes), boxes)


def _blocks_along(order: Sequence[int], boxes: Sequence[Box], starts: frozenset[int] = frozenset()) -> list[list[int]]:
    """``order`` cut into blocks by :func:`reading_blocks`' rule; a line in ``starts`` always opens one."""
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
        if index in starts or box[3] <= previous[1] or gap > line_height or shared < 0.5 * max(1, narrower):
            blocks.append([index])
            left, right = box[0], box[2]
        else:
            blocks[-1].append(index)
            left, right = min(left, box[0]), max(right, box[2])
    return blocks


def region_blocks(boxes: Sequence[Box], regions: Sequence[Region]) -> list[list[int]]:
    """Indices of ``boxes`` in reading order, grouped into blocks, following ``regions`` (in reading order).

    Each region's lines are read by the XY-cut and cut into blocks as :func:`reading_blocks` cuts them; a
    region always starts a new block. A line no region holds (:data:`REGION_SHARE`) follows the nearest
    held line above it in its column, else the held line the XY-cut of the whole page reads before it.
    Without regions, or when they hold less than :data:`MIN_HELD` of the lines, this is
    :func:`reading_blocks`.
    """
    if not regions:
        return reading_blocks(boxes)
    line_height = max(1.0, median(b[3] - b[1] for b in boxes)) if boxes else 1.0
    regions = heads_first(regions, line_height)
    owner = [_owner(box, regions) for box in boxes]
    if sum(region is not None for region in owner) < MIN_HELD * len(boxes):
        return reading_blocks(boxes)
    members: list[list[int]] = [[] for _ in regions]
    for index, region in enumerate(owner):
        if region is not None:
            members[region].append(index)
    order: list[int] = []
    starts: set[int] = set()
    followers = _followers(reading_order(boxes), owner, boxes)
    order += followers.get(None, [])
    for group in left_first([group for group in members if group], boxes):
        inside = [group[i] for i in reading_order([boxes[i] for i in group])]
        starts.add(inside[0])
        for index in inside:
            order.append(index)
            order += followers.get(index, [])
    return _blocks_along(order, boxes, frozenset(starts))


def left_first(groups: Sequence[list[int]], boxes: Sequence[Box]) -> list[list[int]]:
    """``groups`` (the lines of each region, regions in reading order) with every region that comes right
    after a region beside it, to its left, read before it.

    Tesseract sometimes reads the right one of two side-by-side blocks first (the two halves of a list
    set in two columns); left to right, a reader takes the left one first.
    """
    ordered = list(groups)
    for _ in range(len(ordered)):
        swapped = False
        for i in range(len(ordered) - 1):
            first, then = block_box(boxes, ordered[i]), block_box(boxes, ordered[i + 1])
            beside = _span(first, then, 1) >= 0.5 * min(first[3] - first[1], then[3] - then[1])
            if beside and then[2] <= first[0]:
                ordered[i], ordered[i + 1] = ordered[i + 1], ordered[i]
                swapped = True
        if not swapped:
            break
    return ordered


def heads_first(regions: Sequence[Region], line_height: float) -> list[Region]:
    """``regions`` with the short ones (at most :data:`HEAD_LINES` line heights tall) that lie above every
    other region, set off from them by at least :data:`HEAD_GAP` line heights (running heads, page
    numbers), first, left to right, and those below every other region, set off likewise (page footers),
    last.

    Tesseract orders a running head set over the right column after the whole left column; a reader
    takes the top of the page first. Tall regions keep their place (a column that starts or ends beyond
    the other column's text is still read in its turn), and so do the last lines of columns that end
    together, which sit one line's spacing under the rest.
    """
    max_height, gap = HEAD_LINES * line_height, HEAD_GAP * line_height
    rest = list(regions)
    heads: list[Region] = []
    while len(rest) > 1:
        row = _edge_row(rest, top=True)
        others = [r for r in rest if r not in row]
        if not others or any(r.box[3] - r.box[1] > max_height for r in row):
            break
        if min(r.box[1] for r in others) - max(r.box[3] for r in row) < gap:
            break
        heads += sorted(row, key=lambda r: r.box[0])
        rest = others
    feet: list[Region] = []
    while len(rest) > 1:
        row = _edge_row(rest, top=False)
        others = [r for r in rest if r not in row]
        if not others or any(r.box[3] - r.box[1] > max_height for r in row):
            break
        if min(r.box[1] for r in row) - max(r.box[3] for r in others) < gap:
            break
        feet = sorted(row, key=lambda r: r.box[0]) + feet
        rest = others
    return heads + rest + feet


def _edge_row(regions: Sequence[Region], top: bool) -> list[Region]:
    """The topmost (``top``) or bottommost region and every region overlapping it vertically."""
    edge = min(regions, key=lambda r: r.box[1]) if top else max(regions, key=lambda r: r.box[3])
    return [r for r in regions if _span(r.box, edge.box, 1) > 0]


def _owner(box: Box, regions: Sequence[Region]) -> int | None:
    """The region holding the largest share of ``box``, if that share is at least :data:`REGION_SHARE`."""
    area = max(1, (box[2] - box[0]) * (box[3] - box[1]))
    best, best_share = None, 0.0
    for number, region in enumerate(regions):
        share = _overlap(box, region.box) / area
        if share > best_share:
            best, best_share = number, share
    return best if best_share >= REGION_SHARE else None


def _followers(order: Sequence[int], owner: Sequence[int | None], boxes: Sequence[Box]) -> dict[int | None, list[int]]:
    """For each line a region holds, the lines no region holds that are read right after it (under
    ``None``: those read before any held line).

    Such a line follows the nearest held line above it in its own column (sharing at least half the
    narrower width), so a line the analysis missed stays in its column; with none above it, it follows
    the held line the XY-cut reads before it.
    """
    followers: dict[int | None, list[int]] = {}
    anchor: int | None = None
    for index in order:
        if owner[index] is None:
            followers.setdefault(_above(index, owner, boxes, anchor), []).append(index)
        else:
            anchor = index
    return followers


def _above(index: int, owner: Sequence[int | None], boxes: Sequence[Box], fallback: int | None) -> int | None:
    """The nearest line a region holds above line ``index`` in the same column, else ``fallback``."""
    box = boxes[index]
    best, best_bottom = fallback, None
    for other, region in enumerate(owner):
        above = boxes[other]
        if region is None or above[3] > box[1] + 0.5 * (box[3] - box[1]) or above[1] >= box[1]:
            continue
        narrower = min(box[2] - box[0], above[2] - above[0])
        if _span(box, above, 0) >= 0.5 * max(1, narrower) and (best_bottom is None or above[3] > best_bottom):
            best, best_bottom = other, above[3]
    return best


def split_across_regions(
    boxes: Sequence[Box], regions: Sequence[Region], blank_at: Callable[[Box, int], int | None]
) -> list[Box]:
    """``boxes`` with every line that runs across side-by-side regions cut in the gutter between them.

    A line detector joins two columns' lines into one box where the gutter is narrow. A line is cut only
    where two regions beside each other each hold at least :data:`SPLIT_SHARE` of its width (a line
    mostly inside one region with a sliver in the next is that region's) and where ``blank_at(line, x)``
    finds blank page near the gutter's middle ``x`` (it returns where to cut, or None: no cut).
    """
    out: list[Box] = []
    for box in boxes:
        width, height = box[2] - box[0], box[3] - box[1]
        crossed = sorted(
            (
                r.box
                for r in regions
                if _span(box, r.box, 1) >= 0.5 * height and _span(box, r.box, 0) >= SPLIT_SHARE * width
            ),
            key=lambda r: r[0],
        )
        middles = [(a[2] + b[0]) // 2 for a, b in pairwise(crossed) if a[2] <= b[0] + height]
        cuts = {blank_at(box, x) for x in middles if box[0] < x < box[2]}
        edges = [box[0], *sorted(c for c in cuts if c is not None and box[0] < c < box[2]), box[2]]
        out += [(left, box[1], right, box[3]) for left, right in pairwise(edges)]
    return out


def _span(a: Sequence[int], b: Sequence[int], axis: int) -> int:
    return max(0, min(a[axis + 2], b[axis + 2]) - max(a[axis], b[axis]))


def _overlap(a: Box, b: Box) -> int:
    return _span(a, b, 0) * _span(a, b, 1)


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
