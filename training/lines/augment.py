"""Augmentation of real line images: slant, stroke width, blur, noise, contrast, resolution, margins.

Every choice comes from the generator passed in, so ``(seed, step)`` fixes a batch.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]


def _slant(image: Gray, rng: np.random.Generator) -> Gray:
    height, width = image.shape
    shear = rng.uniform(-0.3, 0.3)
    extra = int(abs(shear) * height) + 1
    matrix = np.array([[1.0, shear, extra if shear < 0 else 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    border = int(np.median(image))
    return np.asarray(
        cv2.warpAffine(image, matrix, (width + extra, height), borderMode=cv2.BORDER_CONSTANT, borderValue=border),
        dtype=np.uint8,
    )


def _stroke(image: Gray, rng: np.random.Generator) -> Gray:
    kernel = np.ones((2, 2), np.uint8)
    # Dark ink on light paper: erosion of the image thickens the ink, dilation thins it.
    changed = cv2.erode(image, kernel) if rng.random() < 0.5 else cv2.dilate(image, kernel)
    return np.asarray(changed, dtype=np.uint8)


def _resolution(image: Gray, rng: np.random.Generator) -> Gray:
    height, width = image.shape
    factor = rng.uniform(0.45, 0.8)
    small = cv2.resize(image, (max(8, int(width * factor)), max(8, int(height * factor))), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def _tone(image: Gray, rng: np.random.Generator) -> Gray:
    contrast = rng.uniform(0.6, 1.2)
    brightness = rng.uniform(-30, 30)
    mean = float(image.mean())
    return np.clip((image.astype(np.float32) - mean) * contrast + mean + brightness, 0, 255).astype(np.uint8)


def _noise(image: Gray, rng: np.random.Generator) -> Gray:
    noisy = image.astype(np.float32) + rng.normal(0.0, rng.uniform(3.0, 12.0), size=image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _margins(image: Gray, rng: np.random.Generator) -> Gray:
    """Trim or pad a few pixels at each side, as another segmenter's crop would."""
    height, width = image.shape
    top, bottom = (int(rng.integers(-2, 4)) for _ in range(2))
    left, right = (int(rng.integers(-3, 8)) for _ in range(2))
    image = image[max(0, -top) : height - max(0, -bottom), max(0, -left) : width - max(0, -right)]
    if image.size == 0:
        return np.zeros((1, 1), np.uint8)
    border = int(np.median(image))
    padded = cv2.copyMakeBorder(
        image, max(0, top), max(0, bottom), max(0, left), max(0, right), cv2.BORDER_CONSTANT, value=border
    )
    return np.asarray(padded, dtype=np.uint8)


def augment_line(image: Gray, rng: np.random.Generator) -> Gray:
    """A randomly degraded copy of a gray line image (dark ink on light paper)."""
    if rng.random() < 0.4:
        image = _slant(image, rng)
    if rng.random() < 0.25:
        image = _stroke(image, rng)
    if rng.random() < 0.2:
        image = _resolution(image, rng)
    if rng.random() < 0.25:
        image = np.asarray(cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 1.2)), dtype=np.uint8)
    if rng.random() < 0.5:
        image = _tone(image, rng)
    if rng.random() < 0.3:
        image = _noise(image, rng)
    if rng.random() < 0.5:
        image = _margins(image, rng)
    return image if image.shape[0] >= 4 and image.shape[1] >= 4 else np.full((8, 8), 255, np.uint8)
