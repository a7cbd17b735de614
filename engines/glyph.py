"""EMNIST-style glyph normalisation, the one pipeline shared by CNN training and serving.

A crop of one character becomes a 28x28 uint8 image with white ink on black, the way MNIST and
EMNIST glyphs look:

1. ink map: polarity detected from the paper (the border), background subtracted, contrast stretched;
2. content check: no pixel ``INK_CONTRAST`` levels above the paper means a blank crop (None);
3. crop to the ink box; strokes thinner than ``MIN_STROKE_PX`` after scaling are thickened, so a
   thin pen on a large canvas still gives MNIST-like strokes;
4. scale so the longer side is ``BOX`` pixels (aspect kept; boxes already within ``BOX_SLACK`` of it
   are left alone, which makes the pipeline idempotent);
5. paste on a 28x28 canvas so that the centre of mass is at the centre (clamped inside the canvas).

Only numpy and Pillow: the serving side must not need OpenCV or torch.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from engines.preprocess import INK_CONTRAST, border_level

GLYPH_SIZE = 28
BOX = 20
BOX_SLACK = 2
MIN_STROKE_PX = 2.0
# Strokes are thickened only below this width (hysteresis keeps normalised glyphs unchanged).
THIN_STROKE_PX = 1.5
# Stretched ink below this level is background noise.
INK_FLOOR = 0.08

FloatImage = npt.NDArray[np.float32]
GrayImage = npt.NDArray[np.uint8]


def ink_map(gray: GrayImage) -> FloatImage | None:
    """White-on-black ink in [0, 1] with the paper at 0, or None when the crop holds no ink.

    Polarity comes from the border: bright paper (dark ink) is inverted, dark paper is kept.
    """
    ink = gray.astype(np.float32)
    if border_level(gray) >= 128:
        ink = 255.0 - ink
    paper = float(np.median(np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])))
    peak = float(ink.max())
    if peak - paper < INK_CONTRAST:
        return None
    stretched = np.clip((ink - paper) / (peak - paper), 0.0, 1.0)
    stretched[stretched < INK_FLOOR] = 0.0
    return np.asarray(stretched, dtype=np.float32)


def ink_bbox(ink: FloatImage) -> tuple[int, int, int, int] | None:
    """The (left, top, right, bottom) box around every non-zero pixel (right, bottom exclusive)."""
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(ink.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def stroke_width(ink: FloatImage) -> float:
    """Mean stroke width in pixels: twice the ink area over the ink outline length."""
    mask = ink >= 0.5
    area = int(mask.sum())
    if area == 0:
        return 0.0
    padded = np.pad(mask, 1).astype(np.int8)
    outline = int(np.abs(np.diff(padded, axis=0)).sum() + np.abs(np.diff(padded, axis=1)).sum())
    return 2.0 * area / max(outline, 1)


def dilate(ink: FloatImage, radius: int) -> FloatImage:
    """Grey dilation with a (2r+1)-square structuring element (separable max filter)."""
    if radius <= 0:
        return ink
    out = np.pad(ink, radius)
    for axis in (0, 1):
        base = out.copy()
        size = base.shape[axis]
        for shift in range(1, radius + 1):
            lead = [slice(None), slice(None)]
            trail = [slice(None), slice(None)]
            lead[axis], trail[axis] = slice(shift, size), slice(0, size - shift)
            out[tuple(trail)] = np.maximum(out[tuple(trail)], base[tuple(lead)])
            out[tuple(lead)] = np.maximum(out[tuple(lead)], base[tuple(trail)])
    return out


def thicken_thin_strokes(ink: FloatImage, scale: float) -> FloatImage:
    """Dilate ``ink`` when its strokes would be thinner than ``THIN_STROKE_PX`` after ``scale``."""
    width = stroke_width(ink)
    if width <= 0 or width * scale >= THIN_STROKE_PX:
        return ink
    radius = int(np.ceil((MIN_STROKE_PX / scale - width) / 2.0))
    return dilate(ink, radius)


def fit_box(ink: FloatImage) -> FloatImage:
    """Crop to the ink and scale the longer side to ``BOX`` pixels, keeping the aspect ratio."""
    box = ink_bbox(ink)
    if box is None:
        return ink[:0, :0]
    left, top, right, bottom = box
    glyph = ink[top:bottom, left:right]
    longer = max(glyph.shape)
    if BOX - BOX_SLACK <= longer <= BOX:
        return glyph
    glyph = thicken_thin_strokes(glyph, BOX / longer)
    height, width = glyph.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(Image.fromarray(glyph).resize(size, Image.Resampling.BILINEAR))
    peak = float(resized.max())
    resized = np.clip(resized / peak if peak > 0 else resized, 0.0, 1.0)
    resized[resized < INK_FLOOR] = 0.0
    trimmed = ink_bbox(resized.astype(np.float32))
    if trimmed is None:
        return glyph[:0, :0]
    left, top, right, bottom = trimmed
    return resized[top:bottom, left:right].astype(np.float32)


def centre_on_canvas(glyph: FloatImage) -> FloatImage:
    """Paste ``glyph`` on a ``GLYPH_SIZE`` square with its centre of mass at the centre."""
    canvas = np.zeros((GLYPH_SIZE, GLYPH_SIZE), dtype=np.float32)
    height, width = glyph.shape
    total = float(glyph.sum())
    centre = GLYPH_SIZE / 2.0  # where MNIST puts the centre of mass (measured: 13.99, 14.01)
    if total > 0:
        row_mass = float((glyph.sum(axis=1) * np.arange(height)).sum()) / total
        col_mass = float((glyph.sum(axis=0) * np.arange(width)).sum()) / total
    else:
        row_mass, col_mass = (height - 1) / 2.0, (width - 1) / 2.0
    top = min(max(round(centre - row_mass), 0), GLYPH_SIZE - height)
    left = min(max(round(centre - col_mass), 0), GLYPH_SIZE - width)
    canvas[top : top + height, left : left + width] = glyph
    return canvas


def normalize_ink(ink: FloatImage) -> GrayImage | None:
    """Steps 3-5 on an ink map that is already white-on-black in [0, 1]; None when it is empty."""
    if not ink.any():
        return None
    glyph = fit_box(ink)
    if glyph.size == 0:
        return None
    # Quantise before centring so that a second pass sees exactly the values it centred.
    levels = np.clip(glyph * 255.0 + 0.5, 0, 255).astype(np.uint8)
    levels[levels < np.ceil(INK_FLOOR * 255.0)] = 0
    canvas = centre_on_canvas(levels.astype(np.float32) / 255.0)
    return np.asarray(np.clip(canvas * 255.0 + 0.5, 0, 255), dtype=np.uint8)


def normalize_glyph(gray: GrayImage) -> GrayImage | None:
    """The whole pipeline: any gray crop of one character to a 28x28 EMNIST-style glyph, or None."""
    ink = ink_map(gray)
    if ink is None:
        return None
    return normalize_ink(ink)
