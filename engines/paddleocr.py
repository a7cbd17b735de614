"""PaddleOCR's PP-OCR models (detection, recognition) on onnxruntime, through rapidocr.

Why rapidocr and not the ``paddleocr`` package: rapidocr ships the real PP-OCRv6-small detection and
recognition models inside its wheel and runs them on onnxruntime, so nothing is downloaded and
paddlepaddle (720 MB) is not needed; ``paddleocr`` with ``engine="onnxruntime"`` would need the same ONNX
files rearranged into model folders by hand. Detection uses rapidocr as it is; recognition runs the same
session but decodes the CTC output here (:mod:`engines.ctc`) to restrict the character set and rank
alternatives. The 180-degree orientation classifier rapidocr also ships is not used: it flipped upright
words (scene words CER 0.129 with it, 0.114 without, real-fit) and single characters (``M``/``W``).
rapidocr keeps ``use_det/use_cls/use_rec`` on the object after a call, so every call passes all three.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from config.languages import written_by
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
from engines.ctc import CHAR_CLASSES, LATIN_TEXT, allowed_mask, greedy_decode, ranked_alternatives
from engines.ctc_words import strip_spaces, words_of
from engines.files import file_digest
from engines.preprocess import (
    GlyphInput,
    dark_ink_on_light,
    is_blank,
    line_rows,
    to_gray,
)

if TYPE_CHECKING:
    from config.settings import Settings

REC_BATCH = 8
# A text crop at least this many times taller than wide is also read turned a quarter either way
# (ICDAR 2015 scene words, real-fit: CER 0.114 upright only, see docs/accuracy.md for the turned reading).
TURN_ABOVE = 1.5
# A lone character is read padded to 128 px wide, not to the 320 px a line gets: 11.5 ms a glyph instead of
# 26 ms on one thread, and as accurate on the fitting part's real and font characters (603 of 690 right
# against 605; kept apart 129 of 147 against 128). 96 px read worse (601, 125). Measured 2026-12-07.
GLYPH_WIDTH = 128
DETECTION_SIDE = 960  # limit_type=max: 110-230 ms per page instead of 1.2-3 s, same accuracy (ENGINES.md)


class PaddleOcrEngine(Engine):
    """PP-OCRv6-small recognition and DB detection."""

    name = "paddleocr"
    # A lone character: cut to its ink with 0.15 of its height of paper around it (real held-out characters,
    # fitting part, bench/char_inputs.py: 87.7%; 0.1-0.3 read within a point of it, as sent 86.4%, no margin
    # 86.4%, half a height 85.4%, a whole height 82.6%). The recogniser scales it to 48 pixels itself.
    char_input = GlyphInput(margin=0.15)

    def __init__(
        self,
        threads: int = 1,
        charset: str | None = LATIN_TEXT,
        model_paths: dict[str, Path] | None = None,
    ) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise EngineUnavailable(f"rapidocr is not installed ({exc}); pip install rapidocr onnxruntime") from exc
        params = {
            "Global.log_level": "warning",
            "Det.limit_type": "max",
            "Det.limit_side_len": DETECTION_SIDE,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            **_model_params(model_paths or {}),
        }
        try:
            self._ocr: Any = _untyped(RapidOCR(params=params))
            # Load both models now (rapidocr loads lazily); on a blank image detection finds nothing
            # and stops, so recognition is loaded by a second call.
            blank = np.full((48, 160, 3), 255, np.uint8)
            self._ocr(blank, use_det=True, use_cls=False, use_rec=False)
            self._ocr(blank, use_det=False, use_cls=False, use_rec=True)
        except Exception as exc:
            raise EngineUnavailable(f"PP-OCR models could not be loaded: {type(exc).__name__}: {exc}") from exc
        self._rec: Any = self._ocr.text_rec
        self._characters: list[str] = list(self._rec.postprocess_op.character)
        self._text_mask = allowed_mask(self._characters, charset)
        self._char_mask = allowed_mask(self._characters, CHAR_CLASSES)
        # The rapidocr release pins the model files it ships.
        self._version = f"rapidocr-{metadata.version('rapidocr')}/PP-OCRv6-small"
        if model_paths:
            # Your own model files: their digests make the version (and the cache key) change with them.
            digests = "/".join(f"{kind}-{file_digest(path)[:12]}" for kind, path in sorted(model_paths.items()))
            self._version = f"rapidocr-{metadata.version('rapidocr')}/{digests}"
        # How a lone character is shown to it changes what it reads, so it is part of the version (and of the
        # cache key): results cached with another glyph input are not served.
        self._version += f"/glyph{GLYPH_WIDTH}"

    @classmethod
    def from_settings(cls, settings: Settings) -> PaddleOcrEngine:
        """Threads from ``OCR_ONNX_THREADS``; models from ``OCR_PADDLEOCR_MODELS`` (default: rapidocr's own)."""
        return cls(threads=settings.onnx_threads, model_paths=settings.paddleocr_models)

    @classmethod
    def languages(cls, settings: Settings) -> frozenset[str]:
        """The languages whose letters the recogniser may write here: its dictionary holds all of
        :data:`LATIN_TEXT` (Latin-1 letters), to which the adapter restricts it."""
        return written_by(LATIN_TEXT)

    @property
    def model_version(self) -> str:
        """rapidocr's version names the model files it ships."""
        return self._version

    def detect_lines(self, image: Crop) -> list[Box]:
        """DB text detection: one axis-aligned box per detected line segment."""
        rgb = _rgb(image)
        try:
            output = self._ocr(rgb, use_det=True, use_cls=False, use_rec=False)
        except Exception as exc:
            raise EngineFailure(f"PP-OCR detection failed: {exc}") from exc
        if output.boxes is None:
            return []
        height, width = rgb.shape[:2]
        return [_quad_to_box(quad, width, height) for quad in np.asarray(output.boxes)]

    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        """Read each crop as one line; words located from the CTC time steps.

        A crop much taller than wide is usually a word photographed or set sideways: it is also read
        turned a quarter either way, and the reading the recogniser is most confident of wins.
        """
        started = time.perf_counter()
        lines = [self._text_input_of(crop) for crop in crops]
        views = [(index, turn) for index, line in enumerate(lines) if line is not None for turn in _turns(line[0])]
        images = [np.ascontiguousarray(np.rot90(lines[index][0], turn)) for index, turn in views]  # type: ignore[index]
        best: dict[int, TextResult] = {}
        for (index, turn), (probs, pixels_per_step) in zip(views, self._recognize(images), strict=True):
            _, gray, origin = lines[index]  # type: ignore[misc]
            if turn == 0:
                reading = self._text_result(probs, pixels_per_step, (gray, origin))
            else:  # word boxes are located on upright crops only
                reading = self._text_result(probs, pixels_per_step, None)
            if index not in best or reading.confidence > best[index].confidence:
                best[index] = reading
        empty = TextResult(self.name, self._version, "", ())
        return _with_elapsed([best.get(index, empty) for index in range(len(crops))], started)

    def recognize_chars(self, crops: Sequence[Crop], top_k: int = 5) -> list[CharResult]:
        """Read each crop as one of the 62 character classes, with ranked alternatives."""
        started = time.perf_counter()
        glyphs = [self._glyph_image(crop) for crop in crops]
        outputs = iter(self._recognize([g for g in glyphs if g is not None], GLYPH_WIDTH))
        results = []
        for glyph in glyphs:
            probs = None if glyph is None else next(outputs)[0]
            ranked = [] if probs is None else ranked_alternatives(probs, self._characters, self._char_mask, top_k)
            candidates = tuple(CharCandidate(char, conf) for char, conf in ranked)
            results.append(CharResult(self.name, self._version, candidates))
        elapsed = elapsed_ms(started, len(crops))
        return [CharResult(r.engine, r.model_version, r.candidates, elapsed) for r in results]

    def _glyph_image(self, crop: Crop) -> np.ndarray | None:
        glyph = self.char_input.prepare(crop)
        return None if glyph is None else _rgb(glyph)

    def _text_input_of(self, crop: Crop) -> tuple[np.ndarray, np.ndarray, tuple[int, int]] | None:
        """What the recogniser reads for a text crop: the crop as sent (RGB), in colour, at its text band.

        Returns that image, its dark-on-light gray (where word boxes are found) and its origin in the crop;
        None for a blank crop. Not cut to its ink nor binarised: that lost low-contrast and coloured text
        (scene words CER 0.31 that way, 0.114 as sent, real-fit).
        """
        gray = to_gray(crop)
        if crop.size == 0 or is_blank(gray):
            return None
        # The line itself, without the neighbours' ascenders and descenders a page's line box takes in.
        dark_on_light = dark_ink_on_light(gray)
        top, bottom = line_rows(dark_on_light)
        # No added margin: on the real fit sets a replicated 10% margin raised CER on scene words from
        # 0.114 to 0.129 and on handwritten lines from 0.37 to 0.43 (the text shrinks in the 48-pixel input).
        return _rgb(crop[top:bottom]), dark_on_light[top:bottom], (0, top)

    def _recognize(self, images: list[np.ndarray], min_width: int | None = None) -> list[tuple[np.ndarray, float]]:
        """Recognise in batches of images padded to the same width (at least ``min_width`` pixels at the
        recogniser's height; by default its own line width, 320).

        The padding changes the model's output, so an image is only batched with images that are padded
        as it would be alone: it reads the same in any batch. Returns per image its CTC probabilities
        and how many of its pixels one time step covers.
        """
        if not images:
            return []
        try:
            _, height, width = self._rec.rec_image_shape
            least = (min_width or width) / height
            buckets: dict[int, list[int]] = {}
            for i, img in enumerate(images):
                buckets.setdefault(int(height * max(least, img.shape[1] / img.shape[0])), []).append(i)
            out: list[tuple[np.ndarray, float]] = [(np.empty(0), 0.0)] * len(images)
            for order in buckets.values():
                for start in range(0, len(order), REC_BATCH):
                    batch = order[start : start + REC_BATCH]
                    for index, probs in zip(batch, self._run_batch([images[i] for i in batch], least), strict=True):
                        out[index] = probs
        except Exception as exc:
            raise EngineFailure(f"PP-OCR recognition failed: {type(exc).__name__}: {exc}") from exc
        return out

    def _run_batch(self, images: list[np.ndarray], least_ratio: float) -> list[tuple[np.ndarray, float]]:
        max_ratio = max([least_ratio] + [img.shape[1] / img.shape[0] for img in images])
        batch = np.stack([self._rec.resize_norm_img(img, max_ratio) for img in images]).astype(np.float32)
        probs = np.asarray(self._rec.session(batch))
        steps = probs.shape[1]
        out = []
        for i, img in enumerate(images):
            # Steps beyond an image's own width only see padding.
            used = min(steps, math.ceil(steps * (img.shape[1] / img.shape[0]) / max_ratio) + 1)
            out.append((probs[i, :used], img.shape[0] * max_ratio / steps))
        return out

    def _text_result(
        self, probs: np.ndarray, pixels_per_step: float, line: tuple[np.ndarray, tuple[int, int]] | None
    ) -> TextResult:
        chars = strip_spaces(greedy_decode(probs, self._characters, self._text_mask))
        text = "".join(c.char for c in chars)
        confidences = tuple(min(1.0, c.confidence) for c in chars)
        words = words_of(chars, pixels_per_step, line) if line is not None else ()
        return TextResult(self.name, self._version, text, confidences, 0.0, words)


def _model_params(paths: dict[str, Path]) -> dict[str, str]:
    """rapidocr parameters for user-given det/cls/rec ONNX files and the rec model's character list.

    ``rec_keys`` is the dictionary file of a recognition model that does not carry its characters in
    its ONNX metadata (PaddleOCR's own exports). A missing file makes the engine unavailable.
    """
    unknown = set(paths) - {"det", "cls", "rec", "rec_keys"}
    if unknown:
        raise EngineUnavailable(f"unknown PP-OCR model kinds {sorted(unknown)}; use det, cls, rec and rec_keys")
    for kind, path in paths.items():
        if not path.is_file():
            raise EngineUnavailable(f"PP-OCR {kind} file {path} not found")
    return {
        "Rec.rec_keys_path" if kind == "rec_keys" else f"{kind.capitalize()}.model_path": str(path)
        for kind, path in paths.items()
    }


def _untyped(value: object) -> Any:
    # rapidocr declares its lazily loaded models as None; we use them once loaded.
    return value


def _rgb(image: Crop) -> np.ndarray:
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def _turns(image: np.ndarray) -> tuple[int, ...]:
    """Quarter turns (``np.rot90`` k) to read a crop at: upright, and both ways round when it stands tall."""
    height, width = image.shape[:2]
    return (0, 1, 3) if height >= TURN_ABOVE * width else (0,)


def _quad_to_box(quad: np.ndarray, width: int, height: int) -> Box:
    xs, ys = quad[:, 0], quad[:, 1]
    left, top = max(0, math.floor(float(xs.min()))), max(0, math.floor(float(ys.min())))
    right, bottom = min(width, math.ceil(float(xs.max()))), min(height, math.ceil(float(ys.max())))
    return left, top, right, bottom


def _with_elapsed(results: list[TextResult], started: float) -> list[TextResult]:
    per_crop = elapsed_ms(started, len(results))
    return [TextResult(r.engine, r.model_version, r.text, r.char_confidences, per_crop, r.words) for r in results]
