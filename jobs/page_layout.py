"""A page job's layout step: turn the page upright, find its lines, group them into blocks in reading order.

The reading order follows the regions of Tesseract's page layout analysis when ``OCR_LAYOUT_ORDER`` is
``tesseract`` (the default: :mod:`engines.page_regions`, :func:`engines.layout.region_blocks`), else our
XY-cut alone; the lines themselves always come from the layout engine. The analysis runs only on pages
where at least two pairs of lines sit side by side (:func:`engines.layout.side_by_side`): lines stacked in
one column read top to bottom in any order.

The layout record (stored on the job) holds the line boxes in the coordinates of the image the engines
read, which is the upright page when the upload was turned or skewed. ``transform`` records what was
done, so that :func:`to_original_coordinates` puts every box of the result back on the uploaded image.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict
from hashlib import sha256
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from celery.exceptions import SoftTimeLimitExceeded
from PIL import Image

from config.settings import get_settings
from engines.base import Engine, EngineError, EngineUnavailable
from engines.layout import Region, block_records, reading_blocks, region_blocks, side_by_side, split_across_regions
from engines.orientation import PageTransform, upright
from engines.page_regions import TesseractRegions
from engines.upright_check import upright_check_for
from jobs.store import pad_box

log = logging.getLogger(__name__)


def upright_page(
    image: npt.NDArray[np.uint8], reader: Engine | None = None
) -> tuple[npt.NDArray[np.uint8], PageTransform | None]:
    """The page turned upright and straightened, and what was done (None: nothing, or detection failed).

    ``reader``: the layout engine; where :mod:`engines.upright_check` is calibrated for it, a page it reads
    clearly the right way up skips Tesseract's orientation detection. Orientation is a help, never a
    reason to fail a page: any error leaves the page as it came.
    """
    try:
        corrected, transform = upright(image, is_upright=upright_check_for(reader) if reader else None)
    except Exception:
        log.exception("orientation detection failed; reading the page as it came")
        return image, None
    return (image, None) if transform.is_identity else (corrected, transform)


def encode_png(image: npt.NDArray[np.uint8]) -> tuple[str, bytes]:
    """The digest and lossless PNG of a corrected page, stored beside the upload for the engines."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    png = buffer.getvalue()
    return sha256(png).hexdigest(), png


_regions: TesseractRegions | None = None


def page_regions() -> TesseractRegions | None:
    """This process's region finder when the settings order pages by Tesseract's layout (None: XY-cut).

    Built on first use, so in the worker process after the fork (its Tesseract handle is native state)."""
    global _regions
    settings = get_settings()
    if settings.layout_order != "tesseract":
        return None
    if _regions is None:
        try:
            _regions = TesseractRegions(settings.tessdata_path, settings.tesseract_lang)
        except EngineUnavailable as exc:
            log.warning("no page regions (%s); ordering lines by the XY-cut", exc)
            return None
    return _regions


def find_regions(image: npt.NDArray[np.uint8], finder: TesseractRegions | None) -> list[Region]:
    """The page's regions in reading order, or none (the XY-cut decides) when there is no finder or it fails.

    The regions only order lines, so a failure costs the page its column order, never the page."""
    if finder is None:
        return []
    try:
        return finder.find(image)
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        log.exception("page regions failed; ordering the lines by the XY-cut")
        return []


def blank_column(image: npt.NDArray[np.uint8], box: tuple[int, int, int, int], x: int) -> int | None:
    """The middle of the blank gap nearest ``x`` (within one line height of it) where no dark ink runs down
    the line, at least two thirds of the line's height wide (wider than a word space); None if there is none.
    """
    left, top, right, bottom = box
    height = bottom - top
    line = image[top:bottom, left:right]
    if line.size == 0 or height < 3:
        return None
    gray = line.mean(axis=2) if line.ndim == 3 else line.astype(float)
    # Ink: darker than halfway between the line's paper (bright end) and its ink (dark end).
    low, high = np.percentile(gray, [2, 98])
    if high - low < 32:
        return None
    start, end = max(left, x - height), min(right, x + height)
    inked = (gray[:, start - left : end - left] < (low + high) / 2).sum(axis=0) > max(1, height // 30)
    best: int | None = None
    run = 0
    for offset, has_ink in enumerate([*inked.tolist(), True]):
        if not has_ink:
            run += 1
            continue
        if run >= max(2, 2 * height // 3):
            middle = start + offset - (run + 1) // 2
            if best is None or abs(middle - x) < abs(best - x):
                best = middle
        run = 0
    return best


# Pairs of side-by-side lines from which a page is taken to have columns (a table, a form) worth the analysis.
MIN_SIDE_BY_SIDE = 2


def find_lines(
    image: npt.NDArray[np.uint8],
    layout_engine: Engine,
    regions: TesseractRegions | Literal["settings"] | None = "settings",
) -> dict[str, Any]:
    """Line boxes in reading order from ``layout_engine``, grouped into blocks; the whole image as one line
    if the engine fails. ``regions``: the region finder that orders the lines (``"settings"``: the one
    :func:`page_regions` gives; None: the XY-cut alone)."""
    height, width = image.shape[:2]
    try:
        found = layout_engine.detect_lines(image)
        error = None
    except (EngineError, SoftTimeLimitExceeded) as exc:
        found, error = [], {"code": getattr(exc, "code", "timeout"), "message": str(exc)}
    except Exception as exc:
        log.exception("layout by %s failed", layout_engine.name)
        found, error = [], {"code": "failed", "message": f"{type(exc).__name__}: {exc}"}
    finder = page_regions() if isinstance(regions, str) else regions
    # Lines stacked in one column read top to bottom whatever the regions say: the analysis (0.3-1.6 s of a
    # dense page) runs only where at least two pairs of lines sit side by side. One such pair (a line the
    # detector cut in two, a mark beside one line, a running head and its page number) is one row, which
    # the XY-cut reads left to right as the regions would.
    areas = find_regions(image, finder) if side_by_side(found) >= MIN_SIDE_BY_SIDE else []
    if areas:
        found = split_across_regions(found, areas, lambda box, x: blank_column(image, box, x))
    groups = region_blocks(found, areas) if areas else reading_blocks(found)
    order = [index for group in groups for index in group]
    boxes = [pad_box(found[i], width, height) for i in order] or [[0, 0, width, height]]
    blocks = block_records(groups, boxes) or [{"box": list(boxes[0]), "lines": [0]}]
    return {"engine": layout_engine.name, "boxes": boxes, "blocks": blocks, "error": error}


def transform_record(transform: PageTransform) -> dict[str, Any]:
    """The transform as JSON data for the job's layout record."""
    return asdict(transform)


def to_original_coordinates(result: dict[str, Any], layout: dict[str, Any] | None) -> None:
    """Map every box of a page result (lines, words, blocks) from the upright page back onto the upload,
    and say what was done under ``result["orientation"]``. Changes ``result`` in place."""
    record = (layout or {}).get("transform")
    if not record:
        result["orientation"] = {"rotation": 0, "skew": 0.0}
        return
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in record.items()}
    transform = PageTransform(**fields)
    back = transform.to_original
    for line in result.get("lines", []):
        line["box"] = list(back(tuple(line["box"])))
        for word in line.get("words", []):
            if word.get("box"):
                word["box"] = list(back(tuple(word["box"])))
    for block in result.get("blocks", []):
        block["box"] = list(back(tuple(block["box"])))
    result["orientation"] = {"rotation": transform.rotation, "skew": round(float(transform.skew), 2)}


def recognition_image(job: dict[str, Any]) -> str:
    """The digest of the image the engines read for ``job``: the upright page if the layout step made one."""
    return str((job.get("layout") or {}).get("image_sha256") or job["image_sha256"])
