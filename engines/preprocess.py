"""Image preparation shared by the engine adapters: gray conversion, polarity, ink cropping."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from engines.base import BadImage, Crop

# A pixel counts as ink when it is this much darker than the paper (on a 0-255 scale).
INK_CONTRAST = 60


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


def dark_ink_on_light(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Invert white-on-black crops (EMNIST style) so the ink is dark on light paper."""
    if border_level(gray) < 128:
        return np.asarray(255 - gray, dtype=np.uint8)
    return gray


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
