"""Image preparation shared by the engine adapters: gray conversion, polarity, ink cropping, text bands.

Deep recognisers (PP-OCR, EasyOCR) read best from the crop as photographed, cut only to its main text
band (:func:`line_rows`); binarising or cutting to "ink" first loses low-contrast and coloured text.
Engines that need dark ink on light paper (Tesseract, the character CNN) get polarity decided by
:func:`paper_is_dark`; :func:`stretch_contrast` makes faint text count as ink where ink is looked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from engines.base import BadImage, Crop

# A pixel counts as ink when it is this much darker than the paper (on a 0-255 scale).
INK_CONTRAST = 60
# Below this spread of brightness a crop has no text to decide polarity from (flat paper, sensor noise).
MIN_POLARITY_RANGE = 24
# A border whose light share is within this of one half does not tell paper from ink.
BORDER_TIE = 0.1


def to_gray(crop: Crop) -> npt.NDArray[np.uint8]:
    """Return a ``HxW`` uint8 view of an RGB or gray crop."""
    if crop.ndim == 2:
        return crop
    if crop.ndim == 3 and crop.shape[2] in (3, 4):
        rgb = crop[:, :, :3].astype(np.float32)
        gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.asarray(np.clip(gray + 0.5, 0, 255), dtype=np.uint8)
    raise BadImage(f"expected a HxW or HxWx3 uint8 array, got shape {crop.shape}")


def border_level(gray: npt.NDArray[np.uint8]) -> float:
    """The median brightness of the outermost pixels: the paper colour in almost every crop."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border))


def paper_is_dark(gray: npt.NDArray[np.uint8]) -> bool:
    """Whether the background is darker than the text (light text on a dark sign, EMNIST-style glyphs).

    Otsu's threshold splits the pixels into a dark and a light class; the class that holds most of the
    crop's border is the paper. A mid-gray border alone misleads on coloured signs (a white word on red
    has a border of luma 76, dark blue letters on a light blue board one of about 130), which is why the
    border is compared with the crop's own two classes, not with a fixed level. When the border is split
    evenly (text touching the edges), the class with fewer pixels is taken as the ink.
    """
    if int(gray.max()) - int(gray.min()) < MIN_POLARITY_RANGE:
        return border_level(gray) < 128
    threshold = otsu_threshold(gray)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    light_border = float(np.mean(border > threshold))
    if abs(light_border - 0.5) < BORDER_TIE:
        return float(np.mean(gray > threshold)) < 0.5
    return light_border < 0.5


def otsu_threshold(gray: npt.NDArray[np.uint8]) -> int:
    """Otsu's threshold: the level that best separates the histogram into two classes.

    Written here on numpy rather than taken from OpenCV or scikit-image so that the CNN worker, which
    prepares glyphs with this module, does not load either library (it serves from onnxruntime alone).
    """
    histogram = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight_dark = np.cumsum(histogram)
    weight_light = weight_dark[-1] - weight_dark
    sum_dark = np.cumsum(histogram * levels)
    mean_dark = sum_dark / np.maximum(weight_dark, 1)
    mean_light = (sum_dark[-1] - sum_dark) / np.maximum(weight_light, 1)
    between = weight_dark * weight_light * (mean_dark - mean_light) ** 2
    return int(np.argmax(between))


def dark_ink_on_light(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Invert light-on-dark crops (EMNIST style, light text on a dark sign) so the ink is dark on light."""
    if paper_is_dark(gray):
        return np.asarray(255 - gray, dtype=np.uint8)
    return gray


def stretch_contrast(gray: npt.NDArray[np.uint8], low: float = 1.0, high: float = 99.0) -> npt.NDArray[np.uint8]:
    """Map the ``low``..``high`` percentiles of brightness onto 0..255 (unchanged when already wide).

    Faint text (pencil, a photo in dim light, dark blue on lighter blue) then clears the fixed
    :data:`INK_CONTRAST` that ink finding uses. A crop of one flat colour is returned as it is.
    """
    lo, hi = (float(v) for v in np.percentile(gray, [low, high]))
    if hi - lo < MIN_POLARITY_RANGE or (lo <= 8 and hi >= 247):
        return gray
    scaled = (gray.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.asarray(np.clip(scaled + 0.5, 0, 255), dtype=np.uint8)


def is_blank(gray: npt.NDArray[np.uint8]) -> bool:
    """A crop with no visible structure at all (one flat colour, give or take sensor noise)."""
    lo, hi = (float(v) for v in np.percentile(gray, [0.5, 99.5]))
    return hi - lo < MIN_POLARITY_RANGE


def ink_box(gray: npt.NDArray[np.uint8]) -> tuple[int, int, int, int] | None:
    """The (left, top, right, bottom) box around dark ink on light paper, or None if blank."""
    paper = border_level(gray)
    ink = gray < paper - INK_CONTRAST
    if not ink.any():
        return None
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def crop_to_ink(
    gray: npt.NDArray[np.uint8], margin_ratio: float = 0.15, min_margin: int = 4
) -> npt.NDArray[np.uint8] | None:
    """Cut dark-on-light ``gray`` to its ink with a paper margin around it; None when blank."""
    found = crop_to_ink_at(gray, margin_ratio, min_margin)
    return None if found is None else found[0]


def crop_to_ink_at(
    gray: npt.NDArray[np.uint8], margin_ratio: float = 0.15, min_margin: int = 4
) -> tuple[npt.NDArray[np.uint8], tuple[int, int]] | None:
    """Like :func:`crop_to_ink`, with the (x, y) of the result's origin in ``gray``'s coordinates."""
    box = ink_box(gray)
    if box is None:
        return None
    left, top, right, bottom = box
    # The margin follows the ink's height (the text size), so a long line is not padded by its length.
    margin = max(min_margin, round(margin_ratio * (bottom - top)))
    paper = round(border_level(gray))
    height, width = bottom - top + 2 * margin, right - left + 2 * margin
    canvas = np.full((height, width), paper, dtype=np.uint8)
    canvas[margin : margin + bottom - top, margin : margin + right - left] = gray[top:bottom, left:right]
    return canvas, (left - margin, top - margin)


@dataclass(frozen=True)
class GlyphInput:
    """How an engine is shown one lone character: dark ink on light paper, cut to its ink, scaled, with a
    margin of paper on every side. Each adapter holds the one its engine reads best from (``char_input``;
    measured by ``bench/char_inputs.py``): a line recogniser sees a glyph that touches the edges as a fragment.

    ``margin``: paper on each side in ink heights (None: the whole crop as sent, polarity fixed, neither cut
    nor scaled); ``min_margin``: at least this many pixels of it; ``min_height`` / ``max_height``: ink
    shorter / taller than this many pixels is scaled to it (aspect kept) before the margin is added (0: any).
    """

    margin: float | None
    min_margin: int = 4
    min_height: int = 0
    max_height: int = 0

    def prepare(self, crop: Crop) -> npt.NDArray[np.uint8] | None:
        """The gray image to read for ``crop``, or None when it holds no ink."""
        if crop.size == 0:
            return None
        gray = dark_ink_on_light(to_gray(crop))
        box = ink_box(gray)
        if box is None:
            return None
        if self.margin is None:
            return gray
        left, top, right, bottom = box
        paper = round(border_level(gray))
        glyph = gray[top:bottom, left:right]
        height = glyph.shape[0]
        target = max(height, self.min_height)
        target = min(target, self.max_height) if self.max_height else target
        if target != height:
            size = (max(1, round(glyph.shape[1] * target / height)), target)
            filter_ = Image.Resampling.BICUBIC if target > height else Image.Resampling.LANCZOS
            glyph = np.asarray(Image.fromarray(glyph).resize(size, filter_), dtype=np.uint8)
        margin = max(self.min_margin, round(self.margin * glyph.shape[0]))
        canvas = np.full((glyph.shape[0] + 2 * margin, glyph.shape[1] + 2 * margin), paper, dtype=np.uint8)
        canvas[margin : margin + glyph.shape[0], margin : margin + glyph.shape[1]] = glyph
        return canvas


def limit_height(gray: npt.NDArray[np.uint8], max_height: int) -> npt.NDArray[np.uint8]:
    """Shrink ``gray`` (keeping its aspect) when it is taller than ``max_height``."""
    height, width = gray.shape
    if height <= max_height:
        return gray
    scale = max_height / height
    size = (max(1, round(width * scale)), max_height)
    resized = Image.fromarray(gray).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.uint8)


def ink_runs(gray: npt.NDArray[np.uint8]) -> int:
    """How many separate runs of ink a left-to-right column scan finds (1 for most glyphs)."""
    paper = border_level(gray)
    columns = (gray < paper - INK_CONTRAST).any(axis=0).astype(np.int8)
    return int(np.count_nonzero(np.diff(np.concatenate([[0], columns])) == 1))


def text_bands(gray: npt.NDArray[np.uint8]) -> int:
    """How many rows of text a dark-on-light image holds (its ink's horizontal bands).

    Bands much shorter than the tallest (the dots of i and j, an underline) do not count.
    """
    paper = border_level(gray)
    rows = (gray < paper - INK_CONTRAST).any(axis=1).astype(np.int8)
    edges = np.diff(np.concatenate([[0], rows, [0]]))
    heights = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    if heights.size == 0:
        return 0
    return int(np.count_nonzero(heights >= 0.4 * heights.max()))


def main_text_band(gray: npt.NDArray[np.uint8], min_ink_share: float = 0.01) -> tuple[int, int]:
    """The rows (top, bottom) of the line a dark-on-light line crop is about.

    Line crops cut from a page by a box often carry the descenders of the line above and the ascenders of
    the line below. Rows with ink (more than ``min_ink_share`` of the width darker than Otsu's threshold)
    form bands separated by blank rows; the band with the most ink is the line. A crop whose rows are all
    inked, as in most handwriting, is returned whole.
    """
    height = gray.shape[0]
    if height < 3 or is_blank(gray):
        return 0, height
    ink = gray < otsu_threshold(gray)
    per_row = ink.sum(axis=1)
    inked = per_row > min_ink_share * gray.shape[1]
    edges = np.diff(np.concatenate([[0], inked.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) <= 1:
        return 0, height
    amounts = [int(per_row[a:b].sum()) for a, b in zip(starts, stops, strict=True)]
    best = int(np.argmax(amounts))
    return int(starts[best]), int(stops[best])


def line_rows(gray: npt.NDArray[np.uint8], min_aspect: float = 5.0, pad: float = 0.15) -> tuple[int, int]:
    """The rows of a line crop to read: its :func:`main_text_band` with ``pad`` of the band's height.

    Only crops at least ``min_aspect`` times wider than tall count as lines; a word (a scene photo's
    above all) keeps every row, as banding its background cost PP-OCR 2 points of CER on scene words
    (real-fit ICDAR 2015, while it gained 0.5 on English typescripts and 1.7 on handwritten lines).
    """
    height, width = gray.shape[:2]
    if width < min_aspect * height:
        return 0, height
    top, bottom = main_text_band(gray)
    margin = round(pad * (bottom - top))
    return max(0, top - margin), min(height, bottom + margin)
