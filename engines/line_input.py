"""The line recognizer's input contract, shared by training and the engine adapter (numpy and OpenCV only).

A crop becomes gray, dark ink on light paper as sent, scaled to :data:`HEIGHT` pixels keeping its aspect
ratio, normalised to [-1, 1] and repeated over three channels (the PP-OCR recognizer it starts from reads
RGB). A batch is padded on the right with 0 (mid-gray), as PP-OCR pads.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

HEIGHT = 48
MIN_WIDTH = 16
MAX_WIDTH = 2400  # 50:1 lines; wider crops are squeezed rather than cut
# Time steps per input pixel column: the recognizer downsamples width by 8.
STRIDE = 8

FloatImage = npt.NDArray[np.float32]


def to_gray(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """A gray copy of an RGB(A) or gray uint8 image."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGBA2GRAY), dtype=np.uint8)
    return np.asarray(cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def input_width(height: int, width: int, width_scale: float = 1.0) -> int:
    """The width a ``height x width`` crop has once scaled to :data:`HEIGHT` rows (and its width by
    ``width_scale`` more)."""
    scaled = math.ceil(width * width_scale * HEIGHT / max(1, height))
    return int(min(MAX_WIDTH, max(MIN_WIDTH, scaled)))


def prepare_line(image: npt.NDArray[np.uint8], width_scale: float = 1.0) -> FloatImage:
    """One crop as a ``(3, HEIGHT, W)`` float32 array in [-1, 1]; ``width_scale`` stretches it sideways
    beyond its own aspect ratio (a released model's reading setting, 1.0 in training)."""
    gray = to_gray(image)
    width = input_width(gray.shape[0], gray.shape[1], width_scale)
    scaled = cv2.resize(
        gray, (width, HEIGHT), interpolation=cv2.INTER_AREA if gray.shape[0] > HEIGHT else cv2.INTER_LINEAR
    )
    normed = (scaled.astype(np.float32) / 255.0 - 0.5) / 0.5
    return np.repeat(normed[None], 3, axis=0)


def pad_batch(lines: list[FloatImage], multiple: int = 1) -> FloatImage:
    """Stack prepared lines into one ``(N, 3, HEIGHT, W)`` batch, padded on the right with 0.

    ``W`` is the widest line rounded up to ``multiple`` (training uses a few widths only: every new
    input shape costs the CPU backend new kernels and memory).
    """
    widest = -(-max(line.shape[2] for line in lines) // multiple) * multiple
    batch = np.zeros((len(lines), 3, HEIGHT, widest), np.float32)
    for index, line in enumerate(lines):
        batch[index, :, :, : line.shape[2]] = line
    return batch
