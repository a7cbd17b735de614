"""Page orientation and skew: turn a page upright, straighten it, and map boxes back.

Conventions (used by every function here):

* Angles are in degrees and **clockwise** as the image is seen on screen (y grows downwards).
* ``rotation`` is the quarter turn (0, 90, 180, 270) the page *is in*: a page with ``rotation == 90``
  was turned 90 degrees clockwise from upright (its text reads top to bottom), and
  ``np.rot90(image, rotation // 90)`` (numpy turns counter-clockwise for a positive ``k``) undoes it.
* ``skew`` is the small clockwise angle of the page's text lines: a positive skew means the lines run
  downhill to the right. Straightening turns the image counter-clockwise by ``skew``. (PIL's
  ``Image.rotate(a)`` and OpenCV's ``getRotationMatrix2D(c, a, 1)`` turn counter-clockwise, so a page
  made by ``Image.rotate(3)`` has a skew of -3.)
* Boxes are ``(left, top, right, bottom)`` in pixels, right and bottom exclusive; geometry is done on
  pixel edges (pixel ``(x, y)`` covers ``[x, x + 1) x [y, y + 1)``), so a box's corners are exact.

:func:`upright` first undoes the quarter turn (exactly, with ``np.rot90``: no resampling), then
straightens the skew measured on the turned page; :class:`PageTransform` records both so that boxes
found on the corrected image can be reported on the image the client sent.

Orientation comes from Tesseract's orientation and script detection (``osd.traineddata``, Debian's
``tesseract-ocr-osd``) through tesserocr; every tesserocr detail stays in this module. A page is never
turned on a guess: no OSD data, too little text, or a weak answer all give ``(0, 0.0)``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from engines.base import Box
from engines.preprocess import MIN_POLARITY_RANGE, dark_ink_on_light, otsu_threshold, to_gray

logger = logging.getLogger(__name__)

PageArray = npt.NDArray[np.uint8]
QUARTER_TURNS = (0, 90, 180, 270)
NO_ROTATION: tuple[int, float] = (0, 0.0)

# Tesseract's orientation confidence is the margin of the best orientation over the next one (tesserocr:
# "15.0 is reasonably confident"). Measured with osd.traineddata on DejaVu pages: 2 lines of text score
# 5.1-5.6 and 24 lines 14-20, always in the right orientation, while random-dot noise scores up to 3.3 in
# arbitrary orientations. OCRmyPDF uses 14, which leaves short pages unturned.
MIN_OSD_CONFIDENCE = 5.0
# Smaller images hold no line of text to judge or straighten (and Tesseract warns about them).
MIN_PAGE_SIDE = 32
# OSD works on connected components at print size; an A4 page at 300 dpi (2480x3508) runs in ~0.5 s as it
# is, and halving it lowered the confidence, so only larger images are shrunk.
MAX_OSD_SIDE = 3600

# Skew search: projection profiles of the ink on a page shrunk to this longer side (enough to resolve
# 0.1 degree over a line ~1000 px long), coarse over +-MAX_SKEW_DEGREES, then refined around the best.
SKEW_MAX_SIDE = 1400
MAX_SKEW_DEGREES = 10.0
COARSE_SKEW_STEP = 0.25
FINE_SKEW_STEP = 0.05
# Below this the page is left alone: resampling blurs the ink more than such a tilt hurts recognition.
MIN_SKEW_DEGREES = 0.3
# The profile at the best angle must be this much sharper than at a typical angle of the search, or the
# image has no text lines and any angle would be a guess. Measured: DejaVu pages of 1 to 24 lines 3.1-4.7;
# random dots, blobs and a smooth random photo 1.02-1.11.
MIN_PEAK_RATIO = 1.5
# Connected parts of the ink taller than this share of the page (and MIN_GLYPH_LIMIT pixels) are
# pictures, dark margins or rules, not glyphs.
MAX_GLYPH_HEIGHT = 1 / 15
MIN_GLYPH_LIMIT = 32
# At most this many ink pixels are projected per angle (every n-th beyond it): speed on dense pages.
MAX_SKEW_POINTS = 200_000
MIN_SKEW_POINTS = 100


def _cv2() -> Any:
    # Imported on first use, as in engines.steps: importing this module does not load OpenCV.
    import cv2

    return cv2


@dataclass(frozen=True)
class PageTransform:
    """How :func:`upright` changed a page: ``rotation`` undone first, then ``skew`` straightened.

    ``original_size`` and ``corrected_size`` are ``(width, height)`` of the image sent and of the
    corrected image. Straightening enlarges the canvas so no ink is cut off; the turned page sits at
    the centre of the corrected image.
    """

    rotation: int
    skew: float
    original_size: tuple[int, int]
    corrected_size: tuple[int, int]

    def __post_init__(self) -> None:
        if self.rotation not in QUARTER_TURNS:
            raise ValueError(f"rotation must be one of {QUARTER_TURNS}, got {self.rotation}")

    @classmethod
    def identity(cls, width: int, height: int) -> PageTransform:
        """The transform of a page that needed no correction."""
        return cls(0, 0.0, (width, height), (width, height))

    @property
    def is_identity(self) -> bool:
        """Whether the corrected image is the original (no turn, no straightening)."""
        return self.rotation == 0 and self.skew == 0.0 and self.original_size == self.corrected_size

    @property
    def turned_size(self) -> tuple[int, int]:
        """``(width, height)`` of the page after the quarter turn, before straightening."""
        width, height = self.original_size
        return (height, width) if self.rotation in (90, 270) else (width, height)

    def to_original(self, box: Box) -> Box:
        """Map a box on the corrected image to the original image.

        The result is the bounding box of the four mapped corners (exact for quarter turns; for a
        straightened page it holds everything the box held), clipped to the original image.
        """
        left, top, right, bottom = box
        corners = np.array([[left, top], [right, top], [left, bottom], [right, bottom]], dtype=np.float64)
        points = self._unturn(self._unstraighten(corners))
        # Round away float noise first so an exact corner (12.0000000001) does not grow the box by a pixel.
        low = np.floor(np.round(points.min(axis=0), 6))
        high = np.ceil(np.round(points.max(axis=0), 6))
        width, height = self.original_size
        x0, y0 = int(np.clip(low[0], 0, width)), int(np.clip(low[1], 0, height))
        x1, y1 = int(np.clip(high[0], 0, width)), int(np.clip(high[1], 0, height))
        return x0, y0, max(x0, x1), max(y0, y1)

    def _unstraighten(self, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Corrected-image points (pixel-edge coordinates) -> points on the turned page."""
        if self.skew == 0.0 and self.corrected_size == self.turned_size:
            return points
        linear, offset = _straightening(self.skew, self.turned_size, self.corrected_size)
        # Forward: p' = linear @ p + offset; linear is a rotation, so its inverse is its transpose.
        result: npt.NDArray[np.float64] = (points - offset) @ linear
        return result

    def _unturn(self, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Points on the turned page -> points on the original (pixel-edge coordinates)."""
        width, height = self.original_size
        x, y = points[:, 0], points[:, 1]
        # np.rot90(original, k)[i, j] is original[j, W-1-i] (k=1), original[H-1-i, W-1-j] (k=2) and
        # original[H-1-j, i] (k=3); in edge coordinates the pixel offsets of one vanish.
        if self.rotation == 90:
            return np.stack([width - y, x], axis=1)
        if self.rotation == 180:
            return np.stack([width - x, height - y], axis=1)
        if self.rotation == 270:
            return np.stack([y, height - x], axis=1)
        return points


def _straightening(
    skew: float, turned_size: tuple[int, int], corrected_size: tuple[int, int]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The affine map turned page -> corrected image in pixel-edge coordinates: ``p' = A p + b``.

    A counter-clockwise turn by ``skew`` about the turned page's centre, which lands on the centre of
    the (enlarged) corrected canvas.
    """
    angle = math.radians(skew)
    cos, sin = math.cos(angle), math.sin(angle)
    # With y pointing down, this matrix turns counter-clockwise on screen (as cv2.getRotationMatrix2D).
    linear = np.array([[cos, sin], [-sin, cos]])
    centre = np.array(turned_size, dtype=np.float64) / 2.0
    new_centre = np.array(corrected_size, dtype=np.float64) / 2.0
    return linear, new_centre - linear @ centre


def _straightened_size(skew: float, width: int, height: int) -> tuple[int, int]:
    """The canvas that holds a ``width x height`` page turned by ``skew`` degrees."""
    angle = math.radians(skew)
    cos, sin = abs(math.cos(angle)), abs(math.sin(angle))
    return math.ceil(width * cos + height * sin - 1e-6), math.ceil(width * sin + height * cos - 1e-6)


# --- orientation (Tesseract OSD) ------------------------------------------------------------------

# tesserocr handles are not thread-safe and slow to build (~50 ms): one per tessdata folder per process,
# used under a lock, created on first use (after a worker's fork).
_osd_lock = threading.Lock()
_osd_apis: dict[str, Any] = {}


def _forget_osd_apis() -> None:
    # A forked child must not share the parent's lock state or native handles.
    global _osd_lock
    _osd_lock = threading.Lock()
    _osd_apis.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_osd_apis)


def _tessdata(tessdata_path: Path | str | None) -> Path:
    if tessdata_path is not None:
        return Path(tessdata_path)
    # The same setting the Tesseract engine reads its traineddata from (OCR_TESSDATA_PATH).
    from config.settings import get_settings

    return get_settings().tessdata_path


def _osd_api(tessdata_path: Path) -> Any:
    """The process's OSD handle for ``tessdata_path``, or None when OSD cannot run here (call under the lock)."""
    key = str(tessdata_path)
    if key in _osd_apis:
        return _osd_apis[key]
    api: Any = None
    try:
        import tesserocr
    except ImportError as exc:  # pragma: no cover - depends on the install
        logger.warning("page orientation is off: tesserocr is not installed (%s)", exc)
    else:
        if (tessdata_path / "osd.traineddata").is_file():
            try:
                api = tesserocr.PyTessBaseAPI(path=key + "/", lang="osd", psm=tesserocr.PSM.OSD_ONLY)
            except RuntimeError as exc:
                logger.warning("page orientation is off: Tesseract OSD failed to start (%s)", exc)
        else:
            logger.warning(
                "page orientation is off: %s not found (apt-get install tesseract-ocr-osd)",
                tessdata_path / "osd.traineddata",
            )
    _osd_apis[key] = api
    return api


def detect_rotation(image: PageArray, tessdata_path: Path | str | None = None) -> tuple[int, float]:
    """The clockwise quarter turn (0, 90, 180, 270) ``image`` is in, with Tesseract's confidence.

    ``image`` is a uint8 page, RGB ``HxWx3`` or gray ``HxW``. The confidence is Tesseract's orientation
    confidence (the margin over the runner-up orientation; about 15 on a page of print). ``(0, 0.0)``
    when OSD is not installed, the page has too little text, or the answer is below
    :data:`MIN_OSD_CONFIDENCE`. ``tessdata_path`` defaults to the ``OCR_TESSDATA_PATH`` setting.
    """
    gray = to_gray(image)
    height, width = gray.shape
    if min(height, width) < MIN_PAGE_SIDE or _flat(gray):
        return NO_ROTATION
    gray = shrink(dark_ink_on_light(gray), MAX_OSD_SIDE)
    picture = Image.fromarray(np.ascontiguousarray(gray))
    folder = _tessdata(tessdata_path)
    with _osd_lock:
        api = _osd_api(folder)
        if api is None:
            return NO_ROTATION
        try:
            api.SetImage(picture)
            # None when Tesseract found too few characters to judge ("Too few characters").
            found = api.DetectOrientationScript()
        except RuntimeError as exc:
            logger.warning("Tesseract OSD failed: %s", exc)
            return NO_ROTATION
    if not found:
        return NO_ROTATION
    # tesserocr: "orient_deg: detected clockwise rotation of the input image" - the turn the page is in,
    # which is this module's convention as it stands (the tests prove it on pages turned with np.rot90).
    degrees, confidence = int(found["orient_deg"]) % 360, float(found["orient_conf"])
    if degrees not in QUARTER_TURNS or not confidence >= MIN_OSD_CONFIDENCE:  # `not >=` also rejects NaN
        return NO_ROTATION
    return degrees, confidence


def _flat(gray: PageArray) -> bool:
    # Not preprocess.is_blank: its 0.5%-99.5% percentiles call a page with two lines of text blank.
    return int(gray.max()) - int(gray.min()) < MIN_POLARITY_RANGE


def shrink(gray: PageArray, max_side: int) -> PageArray:
    """The page shrunk (area-averaged) to at most ``max_side`` pixels on its longer side."""
    height, width = gray.shape
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return gray
    cv2 = _cv2()
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


# --- skew (projection profiles) -------------------------------------------------------------------


def estimate_skew(gray: PageArray, min_degrees: float = MIN_SKEW_DEGREES) -> float:
    """The clockwise skew (degrees, within +-:data:`MAX_SKEW_DEGREES`) of a page's text lines.

    The angle at which the ink's row profile is sharpest (the generalisation to pages of
    :func:`engines.steps.skew_angle`): searched on the page shrunk to :data:`SKEW_MAX_SIDE`, every
    :data:`COARSE_SKEW_STEP` degrees, then refined to :data:`FINE_SKEW_STEP`. Returns 0.0 for angles
    below ``min_degrees``, for pages without clear text lines, and when the best angle is at the edge of
    the search (the page is turned further than straightening is meant for). RGB input is accepted.
    """
    angle = level_angle(gray)
    return angle if angle is not None and abs(angle) >= min_degrees else 0.0


def level_angle(gray: PageArray) -> float | None:
    """The clockwise angle (degrees) at which the page's text lines are level, or None when the page has no
    clear horizontal lines within +-:data:`MAX_SKEW_DEGREES` (too little text, no sharp row profile, the
    best angle at the edge of the search: a page turned a quarter has columns of letters, not lines)."""
    gray = to_gray(gray)
    height, width = gray.shape
    if min(height, width) < MIN_PAGE_SIDE or _flat(gray):
        return None
    small = shrink(dark_ink_on_light(gray), SKEW_MAX_SIDE)
    ys, xs = np.nonzero(glyph_ink(small))
    if len(xs) < MIN_SKEW_POINTS:
        return None
    stride = -(-len(xs) // MAX_SKEW_POINTS)
    xs = xs[::stride] - small.shape[1] / 2.0
    ys = ys[::stride] - small.shape[0] / 2.0

    coarse = np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 1e-9, COARSE_SKEW_STEP)
    coarse_scores = np.array([_profile_sharpness(xs, ys, float(angle)) for angle in coarse])
    best = int(np.argmax(coarse_scores))
    if best in (0, len(coarse) - 1):
        return None
    if coarse_scores[best] < MIN_PEAK_RATIO * float(np.median(coarse_scores)):
        return None
    fine = coarse[best] + np.arange(-COARSE_SKEW_STEP, COARSE_SKEW_STEP + 1e-9, FINE_SKEW_STEP)
    fine_scores = [_profile_sharpness(xs, ys, float(angle)) for angle in fine]
    # + 0.0 turns a -0.0 into 0.0.
    return round(float(fine[int(np.argmax(fine_scores))]), 2) + 0.0


def glyph_ink(gray: PageArray) -> npt.NDArray[np.bool_]:
    """The ink of glyph-sized parts of the page: no photos, dark margins or vertical rules.

    A photo or a scanner's dark edge is one big blob of "ink" that outweighs the letters and has no
    lines in it (a text page with a dark picture on it went unstraightened before this filter).
    """
    cv2 = _cv2()
    # Otsu's dark class is the levels up to and including the threshold (0 on a pure black-and-white page).
    binary = (gray <= otsu_threshold(gray)).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = stats[:, cv2.CC_STAT_HEIGHT] <= max(MIN_GLYPH_LIMIT, gray.shape[0] * MAX_GLYPH_HEIGHT)
    keep[0] = False  # label 0 is the paper
    mask: npt.NDArray[np.bool_] = keep[labels]
    return mask


def _profile_sharpness(xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64], skew: float) -> float:
    """Sum of squared row counts of the ink seen along lines that run downhill at ``skew`` degrees.

    Projecting points instead of warping the image costs one multiply-add per ink pixel. The ink is a
    fixed amount, so the sum of squares is largest when it piles up in the fewest rows: lines level.
    """
    angle = math.radians(skew)
    rows = ys * math.cos(angle) - xs * math.sin(angle)
    counts = np.bincount((rows - rows.min()).astype(np.intp))
    return float(np.dot(counts, counts))


# --- upright --------------------------------------------------------------------------------------


def upright(
    image: PageArray,
    tessdata_path: Path | str | None = None,
    is_upright: Callable[[PageArray], bool] | None = None,
) -> tuple[PageArray, PageTransform]:
    """``image`` turned upright and straightened, with the transform that maps boxes back.

    The quarter turn from :func:`detect_rotation` is undone exactly (``np.rot90``); the skew is then
    measured on the turned page and straightened on a canvas enlarged to keep every pixel, its new
    corners filled with the page's border colour. A page that needs neither is returned as the same
    array object with an identity transform. ``is_upright``: a cheaper test that, when it answers True,
    stands for orientation detection (:mod:`engines.upright_check`).
    """
    height, width = image.shape[:2]
    level: float | None = None
    clearly_upright = False
    if is_upright is not None:
        # The cheap test only where the page has level lines: a page turned a quarter goes to OSD.
        level = level_angle(image)
        clearly_upright = level is not None and is_upright(image)
    rotation = 0 if clearly_upright else detect_rotation(image, tessdata_path)[0]
    turned = np.ascontiguousarray(np.rot90(image, rotation // 90)) if rotation else image
    turned_height, turned_width = turned.shape[:2]
    if rotation == 0 and is_upright is not None:  # measured on this very page already
        skew = level if level is not None and abs(level) >= MIN_SKEW_DEGREES else 0.0
    else:
        skew = estimate_skew(to_gray(turned))
    if skew == 0.0:
        if rotation == 0:
            return image, PageTransform.identity(width, height)
        return turned, PageTransform(rotation, 0.0, (width, height), (turned_width, turned_height))
    size = _straightened_size(skew, turned_width, turned_height)
    transform = PageTransform(rotation, skew, (width, height), size)
    return _straighten(turned, transform), transform


def _straighten(turned: PageArray, transform: PageTransform) -> PageArray:
    cv2 = _cv2()
    linear, offset = _straightening(transform.skew, transform.turned_size, transform.corrected_size)
    # OpenCV puts pixel centres on integers, this module pixel edges: shift by half a pixel both ways.
    half = np.array([0.5, 0.5])
    matrix = np.hstack([linear, (linear @ half + offset - half)[:, None]])
    return np.asarray(
        cv2.warpAffine(
            np.ascontiguousarray(turned),
            matrix,
            transform.corrected_size,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=_border_colour(turned),
        ),
        dtype=np.uint8,
    )


def _border_colour(image: PageArray) -> tuple[float, ...]:
    """The median of the outermost pixels per channel: the paper, which fills the new corners."""
    pixels = image.reshape(image.shape[0], image.shape[1], -1)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return tuple(float(value) for value in np.median(border, axis=0))
