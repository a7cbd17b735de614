"""Character segmentation of a word or line crop, for engines that read one character at a time.

1. Binarise the ink map (``engines.glyph.ink_map``: polarity and contrast handled there).
2. Label 8-connected components (runs of ink, joined row to row with a union-find; numpy only), and
   drop the bits of neighbouring lines that a padded line crop cuts at its top and bottom edges.
3. Merge pieces of one character: a small piece (the dot of i or j, a broken stroke) joins the
   component it lies above or below, nearest first; two large pieces that share most of their columns
   (a character broken across) are joined too.
4. Propose cuts for blobs that are too wide for one character (touching characters): the column with
   the least ink, away from the blob's ends. Whether a cut is taken is decided by the recogniser
   (``split_candidates``), since a column profile cannot tell "m" from "rn".
5. Spaces: a gap wider than ``SPACE_GAP`` x the line's character height, or clearly wider than the
   usual gap between letters, is a space; its confidence grows with how far the gap clears the
   threshold.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engines.base import Box
from engines.glyph import FloatImage, GrayImage, ink_map

INK_LEVEL = 0.4
# A component with fewer pixels than this is noise.
MIN_AREA = 3
# A piece shorter than this share of the line's character height is small (a dot, an accent).
SMALL_PIECE = 0.45
# Two large pieces sharing this share of the narrower one's columns are one character.
SHARED_COLUMNS = 0.7
# A blob wider than this x the character height may be touching characters.
WIDE_BLOB = 1.1
# Cuts stay this share of the character height away from a blob's ends.
CUT_MARGIN = 0.3
# A cut column may hold at most this share of the blob's heaviest column's ink.
CUT_VALLEY = 0.5
SPACE_GAP = 0.3
SPACE_VS_LETTER_GAP = 1.8


@dataclass(frozen=True)
class Segment:
    """One character candidate: its box in the crop and its own ink (other characters masked out).

    ``box`` bounds the ink above ``INK_LEVEL``; ``ink`` also keeps the anti-aliased pixel around it
    (as a whole-crop glyph would), so it starts at ``origin`` = (x, y) in the crop, up to 1 px before.
    """

    box: Box
    ink: FloatImage
    origin: tuple[int, int]

    @property
    def width(self) -> int:
        """Width of the box in pixels."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        """Height of the box in pixels."""
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Line:
    """The segments of one crop, left to right, with the gaps that are spaces."""

    segments: tuple[Segment, ...]
    char_height: float
    space_after: tuple[float, ...]  # per segment but the last: 0 for no space, else its confidence


def find_runs(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Horizontal runs of True: (row, start, end) arrays in row-major order, ends exclusive."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    starts_r, starts_c = np.nonzero(edges == 1)
    _, ends_c = np.nonzero(edges == -1)
    return starts_r, starts_c, ends_c


def _find(parent: list[int], item: int) -> int:
    while parent[item] != item:
        parent[item] = parent[parent[item]]
        item = parent[item]
    return item


def label_components(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int32], int]:
    """8-connected component labels (0 = background, 1..n) and n."""
    rows, starts, ends = find_runs(mask)
    parent = list(range(len(rows)))
    row_first = np.searchsorted(rows, np.arange(mask.shape[0] + 1))
    for row in range(mask.shape[0] - 1):
        a, a_end = int(row_first[row]), int(row_first[row + 1])
        b, b_end = a_end, int(row_first[row + 2])
        while a < a_end and b < b_end:
            # Runs touch (8-connectivity) when each starts no later than the other ends.
            if starts[a] <= ends[b] and starts[b] <= ends[a]:
                root_a, root_b = _find(parent, a), _find(parent, b)
                if root_a != root_b:
                    parent[max(root_a, root_b)] = min(root_a, root_b)
            if ends[a] < ends[b]:
                a += 1
            else:
                b += 1
    roots = np.array([_find(parent, i) for i in range(len(rows))], dtype=np.intp)
    unique, run_labels = np.unique(roots, return_inverse=True)
    labels = np.zeros(mask.shape, dtype=np.int32)
    lengths = ends - starts
    run_of_pixel = np.repeat(np.arange(len(rows)), lengths)
    columns = np.repeat(starts - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths) + np.arange(lengths.sum())
    labels[np.repeat(rows, lengths), columns] = run_labels[run_of_pixel] + 1
    return labels, len(unique)


@dataclass
class _Piece:
    box: list[int]
    ids: list[int]
    area: int

    def absorb(self, other: _Piece) -> None:
        self.box = [
            min(self.box[0], other.box[0]),
            min(self.box[1], other.box[1]),
            max(self.box[2], other.box[2]),
            max(self.box[3], other.box[3]),
        ]
        self.ids += other.ids
        self.area += other.area


def _pieces(labels: npt.NDArray[np.int32], count: int) -> list[_Piece]:
    pieces = []
    flat = labels.ravel()
    areas = np.bincount(flat, minlength=count + 1)
    ys, xs = np.divmod(np.arange(flat.size), labels.shape[1])
    inked = flat > 0
    order = np.argsort(flat[inked], kind="stable")
    ids, ys, xs = flat[inked][order], ys[inked][order], xs[inked][order]
    bounds = np.searchsorted(ids, np.arange(1, count + 2))
    for label in range(1, count + 1):
        lo, hi = bounds[label - 1], bounds[label]
        if areas[label] >= MIN_AREA:
            box = [int(xs[lo:hi].min()), int(ys[lo:hi].min()), int(xs[lo:hi].max()) + 1, int(ys[lo:hi].max()) + 1]
            pieces.append(_Piece(box, [label], int(areas[label])))
    return pieces


def _shared_columns(a: _Piece, b: _Piece) -> float:
    overlap = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return overlap / max(1, min(a.box[2] - a.box[0], b.box[2] - b.box[0]))


def _vertical_gap(a: _Piece, b: _Piece) -> int:
    return max(0, max(a.box[1], b.box[1]) - min(a.box[3], b.box[3]))


def char_height(heights: list[int]) -> float:
    """The line's typical character height: the upper quartile of the pieces' heights."""
    return float(np.percentile(heights, 75)) if heights else 0.0


def drop_neighbour_fragments(pieces: list[_Piece], crop_height: int) -> list[_Piece]:
    """Drop pieces cut by the top or bottom edge that lie wholly above or below the line's characters.

    A line crop padded on a page holds bits of its neighbours (descenders above, ascenders below)
    along its edges; a dot or accent of the line itself usually overlaps the band its characters span.
    (A crop cut tight to an i's dot, with no taller letter, loses that dot.)
    """
    inside = [p for p in pieces if p.box[1] > 0 and p.box[3] < crop_height]
    if not inside:
        return pieces
    band_top, band_bottom = min(p.box[1] for p in inside), max(p.box[3] for p in inside)
    limit = SMALL_PIECE * float(np.median([p.box[3] - p.box[1] for p in inside]))

    def foreign(piece: _Piece) -> bool:
        short = piece.box[3] - piece.box[1] < limit
        above = piece.box[1] == 0 and piece.box[3] <= band_top
        below = piece.box[3] == crop_height and piece.box[1] >= band_bottom
        return short and (above or below)

    return [p for p in pieces if not foreign(p)]


def merge_pieces(pieces: list[_Piece]) -> list[_Piece]:
    """Join the pieces of one character (dots, broken strokes) to the piece they belong to."""
    height = char_height([p.box[3] - p.box[1] for p in pieces])
    large = [p for p in pieces if p.box[3] - p.box[1] >= SMALL_PIECE * height]
    small = [p for p in pieces if p.box[3] - p.box[1] < SMALL_PIECE * height]
    large.sort(key=lambda p: p.box[0])
    merged: list[_Piece] = []
    for piece in large:
        if merged and _shared_columns(merged[-1], piece) >= SHARED_COLUMNS:
            merged[-1].absorb(piece)
        else:
            merged.append(piece)
    leftovers: list[_Piece] = []
    for piece in small:
        hosts = [m for m in merged if _shared_columns(m, piece) >= 0.5]
        if hosts:
            min(hosts, key=lambda m: (_vertical_gap(m, piece), -_shared_columns(m, piece))).absorb(piece)
        else:
            leftovers.append(piece)
    return sorted(merged + leftovers, key=lambda p: p.box[0])


def _segment(ink: FloatImage, labels: npt.NDArray[np.int32], piece: _Piece) -> Segment:
    left, top, right, bottom = piece.box
    x0, y0 = max(0, left - 1), max(0, top - 1)
    x1, y1 = min(ink.shape[1], right + 1), min(ink.shape[0], bottom + 1)
    window = labels[y0:y1, x0:x1]
    own = np.isin(window, piece.ids)
    # The component and the faint pixels next to it, but never another component's ink.
    near = np.pad(own, 1)
    near = near[:-2, 1:-1] | near[2:, 1:-1] | near[1:-1, :-2] | near[1:-1, 2:] | own
    keep = own | (near & (window == 0))
    return Segment((left, top, right, bottom), np.where(keep, ink[y0:y1, x0:x1], 0.0).astype(np.float32), (x0, y0))


def _space_confidences(segments: list[Segment], height: float) -> tuple[float, ...]:
    gaps = [b.box[0] - a.box[2] for a, b in itertools.pairwise(segments)]
    if not gaps:
        return ()
    letter_gaps = [g for g in gaps if g < SPACE_GAP * height]
    threshold = SPACE_GAP * height
    if len(letter_gaps) >= 2:
        threshold = max(threshold, SPACE_VS_LETTER_GAP * max(1.0, float(np.median(letter_gaps))))
    # 0.5 at the threshold, about 0.95 at 1.5x it: how clearly the gap is a space.
    return tuple(_space_confidence(g, threshold) for g in gaps)


def _space_confidence(gap: float, threshold: float) -> float:
    if gap <= threshold:
        return 0.0
    return round(1.0 / (1.0 + math.exp(-6.0 * (gap / threshold - 1.0))), 4)


def segment_line(gray: GrayImage) -> Line | None:
    """The character segments of a word or line crop, or None when it holds no ink."""
    ink = ink_map(gray)
    if ink is None:
        return None
    labels, count = label_components(ink >= INK_LEVEL)
    pieces = merge_pieces(drop_neighbour_fragments(_pieces(labels, count), ink.shape[0]))
    if not pieces:
        return None
    segments = [_segment(ink, labels, p) for p in pieces]
    height = char_height([s.height for s in segments])
    return Line(tuple(segments), height, _space_confidences(segments, height))


def cut_column(segment: Segment, height: float) -> int | None:
    """The best column to cut a too-wide blob at (touching characters), or None."""
    if segment.width <= WIDE_BLOB * height:
        return None
    shift = segment.box[0] - segment.origin[0]
    profile = (segment.ink >= INK_LEVEL).sum(axis=0)[shift : shift + segment.width]
    margin = max(1, round(CUT_MARGIN * height))
    if segment.width - 2 * margin < 1:
        return None
    inner = profile[margin : segment.width - margin]
    column = int(np.argmin(inner)) + margin
    if profile[column] > CUT_VALLEY * profile.max():
        return None
    return column


def split_at(segment: Segment, column: int) -> tuple[Segment, Segment]:
    """The two segments left and right of ``column`` (a column of the box; boxes trimmed to their ink)."""
    x0, y0 = segment.origin
    cut = column + segment.box[0] - x0
    halves = []
    for part, offset in ((segment.ink[:, :cut], 0), (segment.ink[:, cut:], cut)):
        strong = part >= INK_LEVEL
        rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
        if rows.size == 0:
            rows = cols = np.array([0])
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        box = (x0 + offset + c0, y0 + r0, x0 + offset + c1, y0 + r1)
        halves.append(Segment(box, part, (x0 + offset, y0)))
    return halves[0], halves[1]


def split_candidates(segment: Segment, height: float, max_parts: int = 4) -> list[Segment]:
    """The segment cut recursively at its ink valleys while pieces stay too wide (one piece: no cut)."""
    column = cut_column(segment, height)
    if column is None or max_parts < 2:
        return [segment]
    first, second = split_at(segment, column)
    head = split_candidates(first, height, max_parts // 2)
    tail = split_candidates(second, height, max_parts - len(head))
    return head + tail
