"""Handwriting-style augmentation of one white-on-black float glyph (any size), before normalisation.

Every parameter is drawn from the ``numpy.random.Generator`` passed in, so a seed fixes the data.
Sizes (elastic smoothing, blur) are relative to the glyph's ink box, so a 28-pixel MNIST digit and a
278-pixel CoMNIST letter get the same amount of distortion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from engines.glyph import ink_bbox

FloatImage = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the augmentation; the defaults are the ones the shipped weights were trained with."""

    rotation_deg: float = 12.0
    shear: float = 0.3
    scale_range: tuple[float, float] = (0.8, 1.15)
    elastic_alpha: float = 0.12  # displacement, as a fraction of the ink box size
    elastic_sigma: float = 0.15  # smoothing of the displacement field, same unit
    elastic_p: float = 0.7
    stroke_p: float = 0.6
    blur_p: float = 0.3
    noise_p: float = 0.3


def _ink_size(image: FloatImage) -> int:
    box = ink_bbox(image)
    if box is None:
        return max(image.shape)
    left, top, right, bottom = box
    return max(right - left, bottom - top, 1)


def pad_to_fit(image: FloatImage, margin: float = 0.35) -> FloatImage:
    """Pad with black so that rotation, shear and elastic moves stay inside the canvas."""
    pad = math.ceil(margin * max(image.shape))
    return np.pad(image, pad).astype(np.float32)


def stroke_width(image: FloatImage, rng: np.random.Generator) -> FloatImage:
    """Thicker or thinner pen: dilate or erode by a kernel relative to the glyph size."""
    size = _ink_size(image)
    if rng.random() < 0.6:
        radius = max(1, round(size * rng.uniform(0.01, 0.05)))
        return np.asarray(cv2.dilate(image, _disc(radius)), dtype=np.float32)
    eroded = np.asarray(cv2.erode(image, _disc(max(1, round(size * 0.015)))), dtype=np.float32)
    # A thinner pen must not erase strokes: keep the original when erosion removes most of the ink.
    return eroded if eroded.sum() > 0.5 * image.sum() else image


def _disc(radius: int) -> npt.NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)), dtype=np.uint8)


def affine(image: FloatImage, rng: np.random.Generator, config: AugmentConfig) -> FloatImage:
    """Rotation, horizontal shear and independent x/y scale about the image centre."""
    angle = math.radians(
        float(np.clip(rng.normal(0.0, config.rotation_deg / 2), -config.rotation_deg, config.rotation_deg))
    )
    shear = rng.uniform(-config.shear, config.shear)
    sx, sy = rng.uniform(*config.scale_range, size=2)
    cos, sin = math.cos(angle), math.sin(angle)
    matrix = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    height, width = image.shape
    centre = np.array([width / 2.0, height / 2.0])
    offset = centre - matrix @ centre
    warp = np.hstack([matrix, offset[:, None]]).astype(np.float32)
    return np.asarray(cv2.warpAffine(image, warp, (width, height), flags=cv2.INTER_LINEAR), dtype=np.float32)


def elastic(image: FloatImage, rng: np.random.Generator, config: AugmentConfig) -> FloatImage:
    """Simard-style elastic distortion: a smoothed random displacement field."""
    size = _ink_size(image)
    sigma = max(1.0, config.elastic_sigma * size)
    alpha = config.elastic_alpha * size * rng.uniform(0.5, 1.0)
    height, width = image.shape
    fields = []
    for _ in range(2):
        noise = rng.uniform(-1.0, 1.0, size=(height, width)).astype(np.float32)
        smooth = cv2.GaussianBlur(noise, (0, 0), sigma)
        peak = float(np.abs(smooth).max()) or 1.0
        fields.append(smooth / peak * alpha)
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = grid_x + fields[0], grid_y + fields[1]
    return np.asarray(cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR), dtype=np.float32)


def distort(image: FloatImage, rng: np.random.Generator, config: AugmentConfig) -> FloatImage:
    """Every geometric and pen augmentation, each with its probability, on a padded glyph."""
    out = pad_to_fit(image)
    if rng.random() < config.stroke_p:
        out = stroke_width(out, rng)
    out = affine(out, rng, config)
    if rng.random() < config.elastic_p:
        out = elastic(out, rng, config)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def degrade(glyph: npt.NDArray[np.uint8], rng: np.random.Generator, config: AugmentConfig) -> npt.NDArray[np.uint8]:
    """After normalisation (28x28 uint8): optional blur and sensor noise."""
    out = glyph.astype(np.float32)
    if rng.random() < config.blur_p:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 0.7))
    if rng.random() < config.noise_p:
        out = out + rng.normal(0.0, rng.uniform(4.0, 16.0), size=out.shape).astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
