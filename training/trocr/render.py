"""Synthetic word and line images: text drawn from a font, then degraded like scans and photos.

Each sample is dark ink on light paper (uint8, gray), cut around its ink the way the engine adapter
cuts crops at serving time. Augmentation: pen thickness, perspective, rotation and slant, horizontal
squeeze, paper texture, gradients and ruled lines, blur, sensor noise, low resolution and JPEG.
Every random choice comes from the generator passed in, so ``(seed, index)`` fixes a sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from training.fonts import ALL, FontFile

Gray = npt.NDArray[np.uint8]
SIZE_RANGE = (22, 56)


@dataclass(frozen=True)
class Sample:
    """One training image and the text it shows."""

    image: Gray
    text: str
    font: str


@lru_cache(maxsize=64)
def _codepoints(path: str) -> frozenset[int]:
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


@lru_cache(maxsize=512)
def _face(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def fit_text_to_font(text: str, font: FontFile) -> str | None:
    """``text`` in the case the font can draw, or None when it has characters the font lacks."""
    if not any(c.islower() for c in font.chars):
        text = text.upper()
    elif not any(c.isupper() for c in font.chars):
        text = text.lower()
    if any(c.isalnum() and c not in font.chars for c in text if c in ALL):
        return None
    codepoints = _codepoints(str(font.path))
    if any(ord(c) not in codepoints for c in text if c != " "):
        return None
    return text


def draw_text(text: str, font: FontFile, size: int) -> npt.NDArray[np.float32]:
    """``text`` as an ink map (1 = ink) in floats, with a margin of half the font size."""
    face = _face(str(font.path), size)
    left, top, right, bottom = face.getbbox(text)
    pad = size // 2
    canvas = Image.new("L", (max(1, right - left) + 2 * pad, max(1, bottom - top) + 2 * pad), 0)
    ImageDraw.Draw(canvas).text((pad - left, pad - top), text, font=face, fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _pen(ink: npt.NDArray[np.float32], size: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    radius = max(1, round(size * rng.uniform(0.02, 0.06)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (radius, radius))
    if rng.random() < 0.6:
        return np.asarray(cv2.dilate(ink, kernel), dtype=np.float32)
    eroded = np.asarray(cv2.erode(ink, kernel), dtype=np.float32)
    return eroded if eroded.sum() > 0.5 * ink.sum() else ink


def _geometry(ink: npt.NDArray[np.float32], rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Slant, squeeze, small rotation and a perspective jitter of the corners, in one warp."""
    height, width = ink.shape
    shear = rng.uniform(-0.35, 0.35) if rng.random() < 0.5 else 0.0
    squeeze = rng.uniform(0.65, 1.3)
    angle = math.radians(rng.normal(0.0, 1.5))
    cos, sin = math.cos(angle), math.sin(angle)
    affine = np.array([[cos, -sin], [sin, cos]]) @ np.array([[squeeze, shear], [0.0, 1.0]])
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    moved = corners @ affine.T + rng.normal(0.0, 0.04 * height, size=(4, 2))
    moved -= moved.min(axis=0)
    out_w, out_h = (math.ceil(v) + 1 for v in moved.max(axis=0))
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), moved.astype(np.float32))
    return np.asarray(cv2.warpPerspective(ink, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR), dtype=np.float32)


def _paper(shape: tuple[int, int], rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Paper brightness with a gradient, blotchy texture and, sometimes, ruled lines."""
    height, width = shape
    level = rng.uniform(175.0, 255.0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    gradient = (xs / max(1, width) * rng.uniform(-25, 25)) + (ys / max(1, height) * rng.uniform(-25, 25))
    paper = level + gradient
    if rng.random() < 0.5:
        texture = rng.normal(0.0, 1.0, size=(height, width)).astype(np.float32)
        texture = cv2.GaussianBlur(texture, (0, 0), rng.uniform(1.0, 4.0))
        paper = paper + texture / (float(np.abs(texture).max()) or 1.0) * rng.uniform(5.0, 25.0)
    if rng.random() < 0.15:
        row = int(rng.integers(height // 2, height))
        paper[row : row + int(rng.integers(1, 3)), :] -= rng.uniform(40.0, 110.0)
    return paper.astype(np.float32)


def _sensor(image: npt.NDArray[np.float32], rng: np.random.Generator) -> Gray:
    if rng.random() < 0.4:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.3))
    if rng.random() < 0.25:
        height, width = image.shape
        factor = rng.uniform(0.35, 0.7)
        size = (max(1, int(width * factor)), max(1, int(height * factor)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        image = image + rng.normal(0.0, rng.uniform(2.0, 14.0), size=image.shape).astype(np.float32)
    gray = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.2:
        ok, encoded = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 80))])
        if ok:
            gray = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return np.asarray(gray, dtype=np.uint8)


def render_sample(text: str, font: FontFile, rng: np.random.Generator, augment: bool = True) -> Gray:
    """``text`` in ``font`` as a gray image, dark on light; ``augment=False`` draws it clean."""
    size = int(rng.integers(*SIZE_RANGE))
    ink = draw_text(text, font, size)
    if not augment:
        return np.asarray(255.0 - ink * 255.0 + 0.5, dtype=np.uint8)
    if rng.random() < 0.5:
        ink = _pen(ink, size, rng)
    ink = np.clip(_geometry(ink, rng), 0.0, 1.0)
    paper = _paper(ink.shape, rng)
    ink_level = rng.uniform(0.0, 90.0)
    contrast = rng.uniform(0.75, 1.0)
    image = paper * (1.0 - ink * contrast) + ink_level * ink * contrast
    return _sensor(image.astype(np.float32), rng)


def pick_sample(
    texts: Sequence[str], fonts: Sequence[FontFile], rng: np.random.Generator, augment: bool = True
) -> Sample:
    """Render the first text some randomly drawn font can draw (in the case that font draws)."""
    for text in texts:
        for _ in range(4):
            font = fonts[int(rng.integers(len(fonts)))]
            fitted = fit_text_to_font(text, font)
            if fitted and fitted.strip():
                return Sample(render_sample(fitted, font, rng, augment), fitted, font.family)
    raise ValueError("no font can draw any of the texts offered")
