"""A cheap test that a page is already upright, so that Tesseract's orientation detection can be skipped.

OSD costs 0.6-0.9 s of CPU on a printed page whatever its size (measured on the real pages of
../shared/data; reading a window of the page does not make it cheaper), about a fifth of a page job. Most
pages come upright. Here the recogniser reads one short window of the page's strongest text row, as it
is and turned half a turn: printed text read the right way up is read with high confidence, upside down
it is not (real pages: right way up 0.91-1.00, the same window upside down 0.43-0.68; a page turned half a
turn: 0.38-0.68 either way). Only a clear answer skips OSD; handwriting, little text, an unclear band or
a page turned a quarter (whose "rows" are columns of letters) go on to OSD as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engines.base import Engine
from engines.orientation import glyph_ink, shrink
from engines.preprocess import dark_ink_on_light, to_gray

logger = logging.getLogger(__name__)
# Thresholds on the recogniser's confidence (PP-OCR's mean character probability).
MIN_CONFIDENCE = 0.9
MIN_MARGIN = 0.25
# The band is found on the page shrunk to this side; a row counts as the band's while its ink is at least
# this share of the peak row's.
BAND_SEARCH_SIDE = 1400
BAND_ROW_SHARE = 0.35
# The window read: this many band heights wide (about 15-20 characters of print).
WINDOW_HEIGHTS = 12
# A band thinner than this (page pixels) is a rule or a speck row, not text worth judging by.
MIN_BAND_PIXELS = 24
# The engines whose confidences the thresholds were measured with.
CALIBRATED_FOR = frozenset({"paddleocr"})


def text_window(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8] | None:
    """A window of the page's strongest text row (the row with the most glyph ink), about
    ``WINDOW_HEIGHTS`` row heights wide where it holds the most ink; None when no row stands out."""
    gray = to_gray(image)
    small = shrink(dark_ink_on_light(gray), BAND_SEARCH_SIDE)
    scale = small.shape[0] / gray.shape[0]
    ink = glyph_ink(small).astype(np.float32)
    rows = np.convolve(ink.sum(axis=1), np.ones(3) / 3, mode="same")
    if rows.size == 0 or rows.max() <= 0:
        return None
    peak = int(np.argmax(rows))
    top, bottom = peak, peak
    while top > 0 and rows[top - 1] > BAND_ROW_SHARE * rows[peak]:
        top -= 1
    while bottom < len(rows) - 1 and rows[bottom + 1] > BAND_ROW_SHARE * rows[peak]:
        bottom += 1
    height = bottom - top + 1
    if height / scale < MIN_BAND_PIXELS:
        return None
    width = WINDOW_HEIGHTS * height
    columns = np.concatenate([[0.0], np.cumsum(ink[top : bottom + 1].sum(axis=0))])
    left = 0 if width >= small.shape[1] else int(np.argmax(columns[width:] - columns[:-width]))
    margin = max(1, height // 4)
    y0, y1 = max(0, int((top - margin) / scale)), min(gray.shape[0], int((bottom + 1 + margin) / scale))
    x0, x1 = int(left / scale), min(gray.shape[1], int((left + width) / scale))
    return np.ascontiguousarray(gray[y0:y1, x0:x1])


@dataclass(frozen=True)
class UprightCheck:
    """``check(page)`` is True when ``reader`` reads the page's strongest text row clearly better the right
    way up than upside down: the page needs no orientation detection."""

    reader: Engine
    min_confidence: float = MIN_CONFIDENCE
    min_margin: float = MIN_MARGIN

    def __call__(self, image: npt.NDArray[np.uint8]) -> bool:
        """True when the page is clearly upright (never raises: a failure answers False)."""
        window = text_window(image)
        if window is None:
            return False
        try:
            upright, flipped = self.reader.recognize_text([window, np.ascontiguousarray(np.rot90(window, 2))])
        except Exception:  # the check only saves time: any failure leaves the decision to OSD
            logger.exception("the upright check failed; orientation detection decides")
            return False
        return upright.confidence >= self.min_confidence and upright.confidence - flipped.confidence >= self.min_margin


def upright_check_for(reader: Engine) -> UprightCheck | None:
    """The check with ``reader``, or None for an engine whose confidences the thresholds do not fit."""
    return UprightCheck(reader) if reader.name in CALIBRATED_FOR else None
