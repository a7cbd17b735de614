"""Optional image steps a preset can switch on per engine and kind of crop, applied before recognition.

The seed design named denoising, contrast equalisation, thresholding and deskewing; which of them help
depends on the engine and the input, so none is on unless a preset says so (``preprocess`` in a kind's
voting, :mod:`ensemble.kinds`). ``bench/preprocess_steps.py`` measures each step per engine and kind on
labelled data; docs/accuracy.md records which ones earned a place in the shipped preset.

Every step takes and returns a uint8 crop (gray ``HxW`` or RGB ``HxWx3``) of the same size, so the word
boxes an engine finds stay in the crop's coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from engines.base import Crop
from engines.preprocess import dark_ink_on_light, otsu_threshold, to_gray

Step = Callable[[Crop], Crop]
MAX_SKEW_DEGREES = 5.0
SKEW_STEP_DEGREES = 0.5
DESKEW_MIN_ASPECT = 5.0


def _cv2() -> Any:
    # OpenCV is loaded only by workers that run a step (the CNN worker never does).
    import cv2

    return cv2


def denoise(crop: Crop) -> Crop:
    """Non-local means denoising (OpenCV), strength scaled to 8-bit scans and photos."""
    cv2 = _cv2()
    if crop.ndim == 3:
        return np.asarray(cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(crop), None, 7, 7, 7, 21), np.uint8)
    return np.asarray(cv2.fastNlMeansDenoising(np.ascontiguousarray(crop), None, 7, 7, 21), np.uint8)


def clahe(crop: Crop) -> Crop:
    """Contrast-limited adaptive histogram equalisation of the lightness (colour kept)."""
    cv2 = _cv2()
    equaliser = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    if crop.ndim == 2:
        return np.asarray(equaliser.apply(np.ascontiguousarray(crop)), np.uint8)
    lab = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = equaliser.apply(lab[:, :, 0])
    return np.asarray(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), np.uint8)


def threshold(crop: Crop) -> Crop:
    """Black ink on white paper by Otsu's threshold (gray output)."""
    gray = dark_ink_on_light(to_gray(crop))
    return np.where(gray > otsu_threshold(gray), 255, 0).astype(np.uint8)


def skew_angle(gray: npt.NDArray[np.uint8]) -> float:
    """The small rotation (degrees) that makes a line crop's rows of ink sharpest (projection profile)."""
    cv2 = _cv2()
    paper_light = dark_ink_on_light(gray)
    ink = (paper_light < otsu_threshold(paper_light)).astype(np.float32)
    if ink.sum() == 0:
        return 0.0
    height, width = ink.shape
    centre = (width / 2.0, height / 2.0)
    best_angle, best_score = 0.0, -1.0
    for angle in np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 1e-9, SKEW_STEP_DEGREES):
        matrix = cv2.getRotationMatrix2D(centre, float(angle), 1.0)
        rotated = cv2.warpAffine(ink, matrix, (width, height), flags=cv2.INTER_NEAREST)
        score = float(np.var(rotated.sum(axis=1)))
        if score > best_score + 1e-9:
            best_angle, best_score = float(angle), score
    return best_angle


def deskew(crop: Crop) -> Crop:
    """Rotate a line crop by :func:`skew_angle`, filling the corners with the crop's edge colour.

    Only crops at least :data:`DESKEW_MIN_ASPECT` times wider than tall are lines; a word's rows give no
    reliable angle (deskewing every crop cost PP-OCR 0.6 points of CER on photographed words).
    """
    height, width = crop.shape[:2]
    if width < DESKEW_MIN_ASPECT * height:
        return crop
    cv2 = _cv2()
    angle = skew_angle(to_gray(crop))
    if angle == 0.0:
        return crop
    matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), angle, 1.0)
    rotated = cv2.warpAffine(
        np.ascontiguousarray(crop), matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(rotated, np.uint8)


STEPS: dict[str, Step] = {
    "denoise": denoise,
    "clahe": clahe,
    "threshold": threshold,
    "deskew": deskew,
}


class UnknownStep(ValueError):
    """A preset names a step this server does not have."""


def check_steps(names: Sequence[str]) -> list[str]:
    """The step names, validated (raises :class:`UnknownStep` naming the known ones)."""
    unknown = [name for name in names if name not in STEPS]
    if unknown:
        raise UnknownStep(f"unknown preprocessing step(s) {unknown}; known: {sorted(STEPS)}")
    return list(names)


def apply_steps(crop: Crop, names: Sequence[str]) -> Crop:
    """``crop`` after each named step in order (unchanged for an empty list or an empty crop)."""
    if crop.size == 0:
        return crop
    for name in names:
        crop = STEPS[name](crop)
    return crop
