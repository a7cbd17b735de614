"""Words and their boxes from a CTC reading of a line: shared by the recognizers that decode CTC here.

A character's time steps say roughly where it lies along the line; a word's box is the ink found
between the gaps that separate it from its neighbours.
"""

from __future__ import annotations

import itertools

import numpy as np

from engines.base import Word
from engines.ctc import DecodedChar
from engines.preprocess import INK_CONTRAST, border_level


def strip_spaces(chars: list[DecodedChar]) -> list[DecodedChar]:
    """The decoded characters without leading and trailing spaces."""
    start, end = 0, len(chars)
    while start < end and chars[start].char == " ":
        start += 1
    while end > start and chars[end - 1].char == " ":
        end -= 1
    return chars[start:end]


def words_of(
    chars: list[DecodedChar], pixels_per_step: float, line: tuple[np.ndarray, tuple[int, int]]
) -> tuple[Word, ...]:
    """Group decoded characters into words, each boxed by its ink, in crop coordinates.

    ``line`` is the dark-on-light gray image the steps were read from and its origin in the crop.
    A character's time steps sit inside its glyph and would cut a word's outer glyphs short, so a word
    owns the columns from halfway to the previous word's steps to halfway to the next word's, and its
    box is the ink found there (ink always lies inside the crop; the line image's margin may not).
    """
    image, (dx, dy) = line
    groups: list[list[DecodedChar]] = [[]]
    for char in chars:
        if char.char != " ":
            groups[-1].append(char)
        elif groups[-1]:
            groups.append([])
    groups = [group for group in groups if group]
    if not groups:
        return ()
    ink = image < border_level(image) - INK_CONTRAST
    column_ink = ink.sum(axis=0)
    cuts = [
        0,
        *(_gap_between(a, b, pixels_per_step, column_ink) for a, b in itertools.pairwise(groups)),
        image.shape[1],
    ]
    words: list[Word] = []
    for group, (start, stop) in zip(groups, itertools.pairwise(cuts), strict=True):
        left = max(0, start)
        cols = np.flatnonzero(ink[:, left:stop].any(axis=0)) + left
        if cols.size == 0:  # no ink between the cuts: fall back to the whole line's ink, then the cut itself
            cols = np.flatnonzero(ink.any(axis=0))
        if cols.size == 0:
            first = min(left, image.shape[1] - 1)
            cols = np.arange(first, max(first + 1, min(stop, image.shape[1])))
        rows = np.flatnonzero(ink[:, cols[0] : cols[-1] + 1].any(axis=1))
        if rows.size == 0:
            rows = np.arange(image.shape[0])
        box = (dx + int(cols[0]), dy + int(rows[0]), dx + int(cols[-1]) + 1, dy + int(rows[-1]) + 1)
        confidence = min(1.0, min(c.confidence for c in group))
        words.append(Word("".join(c.char for c in group), confidence, box))
    return tuple(words)


def _gap_between(
    before: list[DecodedChar], after: list[DecodedChar], pixels_per_step: float, column_ink: np.ndarray
) -> int:
    """Where to cut between two words: the emptiest column between their CTC steps (ties: nearest the middle).

    A time step is several pixels wide on a large crop, so the midpoint between two words' steps can land
    inside a glyph; the blank gap between the words lies between those steps.
    """
    low = max(0, int(before[-1].end * pixels_per_step))
    high = min(len(column_ink), int(after[0].start * pixels_per_step) + 1)
    middle = round((before[-1].end + after[0].start) / 2 * pixels_per_step)
    if high <= low:
        return middle
    span = column_ink[low:high]
    emptiest = np.flatnonzero(span == span.min()) + low
    return int(emptiest[np.argmin(np.abs(emptiest - middle))])
