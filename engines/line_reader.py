"""Our own line recognizer: PP-OCR's recognition network fine-tuned on real handwriting and old print.

The model (``models/line_reader/<version>/model.onnx``, trained by ``training.lines``) reads a gray line
scaled to 48 pixels high (:mod:`engines.line_input`) and outputs CTC probabilities over its own character
set, which the ONNX file carries in its ``character`` metadata: Latin letters with accents, long s and
other historical forms. ``metadata.json`` beside it pins the file's sha256; a file that does not match
is refused. Inference is onnxruntime on the worker's cores; nothing is downloaded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from config.languages import written_by
from engines.base import (
    CharCandidate,
    CharResult,
    Crop,
    Engine,
    EngineFailure,
    EngineUnavailable,
    TextResult,
    elapsed_ms,
)
from engines.ctc import CHAR_CLASSES, allowed_mask, greedy_decode, ranked_alternatives
from engines.ctc_words import strip_spaces, words_of
from engines.files import checked_digest, cpu_session
from engines.line_input import STRIDE, input_width, pad_batch, prepare_line
from engines.preprocess import crop_to_ink, dark_ink_on_light, is_blank, to_gray

if TYPE_CHECKING:
    from config.settings import Settings

MODEL_FILE, METADATA_FILE = "model.onnx", "metadata.json"
BATCH = 8
# A lone character is read with paper around it, as the lines it was trained on show letters.
GLYPH_MARGIN = 0.5


def load_checked(model_dir: Path, pinned_sha256: str = "") -> tuple[Path, dict[str, Any], str]:
    """The ONNX path, ``metadata.json`` and the file's sha256 of a model folder, once the digest checks out."""
    onnx_path, metadata_path = model_dir / MODEL_FILE, model_dir / METADATA_FILE
    for path in (onnx_path, metadata_path):
        if not path.is_file():
            raise EngineUnavailable(f"{path} not found; set OCR_LINE_READER_MODEL_DIR or train one (training.lines)")
    try:
        metadata: dict[str, Any] = json.loads(metadata_path.read_text())
        expected = str(metadata["files"][MODEL_FILE]["sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        raise EngineUnavailable(f"{metadata_path} is not a line model metadata file ({exc!r})") from exc
    stated = ((expected, str(metadata_path)), (pinned_sha256, "OCR_LINE_READER_MODEL_SHA256"))
    return onnx_path, metadata, checked_digest(onnx_path, stated)


def width_scale_of(metadata: dict[str, Any]) -> float:
    """How much wider than its own aspect ratio a line is read (``input.width_scale`` in ``metadata.json``,
    chosen after training by ``training.lines.choose_width``; 1.0 where a model folder does not say)."""
    try:
        scale = float(metadata.get("input", {}).get("width_scale", 1.0))
    except (TypeError, ValueError, AttributeError) as exc:
        raise EngineUnavailable(f"metadata.json: input.width_scale is not a number ({exc!r})") from exc
    if not 0.5 <= scale <= 2.0:
        raise EngineUnavailable(f"metadata.json: input.width_scale {scale} is outside 0.5-2.0")
    return scale


class LineReaderEngine(Engine):
    """CTC line recognition with our fine-tuned model; characters read as one-glyph lines."""

    name = "line_reader"

    def __init__(self, model_dir: Path, threads: int = 1, pinned_sha256: str = "") -> None:
        onnx_path, metadata, digest = load_checked(model_dir, pinned_sha256)
        self._session = cpu_session(onnx_path, threads)
        meta = self._session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise EngineUnavailable(f"{onnx_path} carries no 'character' list in its metadata")
        self._characters = ["<blank>", *meta["character"]]
        if metadata.get("charset", meta["character"]) != meta["character"]:
            # metadata.json's charset declares the languages the engine reads: it must be the model's own.
            raise EngineUnavailable(f"{model_dir / METADATA_FILE}: its charset is not the one {onnx_path} carries")
        self._input = self._session.get_inputs()[0].name
        self._char_mask = allowed_mask(self._characters, CHAR_CLASSES)
        self._text_mask = allowed_mask(self._characters, None)
        self._width_scale = width_scale_of(metadata)
        # The width scale changes what the model reads, so it is part of the version (and the cache key).
        scale = "" if self._width_scale == 1.0 else f"-w{self._width_scale:g}"
        self._version = f"line_reader/{metadata.get('version', model_dir.name)}-{digest[:12]}{scale}"

    @classmethod
    def from_settings(cls, settings: Settings) -> LineReaderEngine:
        """Model folder from ``OCR_LINE_READER_MODEL_DIR``, threads from ``OCR_ONNX_THREADS``."""
        return cls(settings.line_reader_model_dir, settings.onnx_threads, settings.line_reader_model_sha256)

    @classmethod
    def languages(cls, settings: Settings) -> frozenset[str]:
        """The languages whose letters the model's character set (``charset`` in ``metadata.json``) holds; a
        model folder that does not list its characters is taken as English only."""
        try:
            metadata = json.loads((settings.line_reader_model_dir / METADATA_FILE).read_text())
        except (OSError, ValueError):
            return frozenset({"eng"})
        charset = metadata.get("charset") if isinstance(metadata, dict) else None
        return written_by(charset) if isinstance(charset, str) else frozenset({"eng"})

    @property
    def model_version(self) -> str:
        """The model folder's version and the ONNX file's digest."""
        return self._version

    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        """Read each crop as one line, with a confidence per character and word boxes."""
        started = time.perf_counter()
        grays = [dark_ink_on_light(to_gray(crop)) if crop.size else None for crop in crops]
        readable = [i for i, gray in enumerate(grays) if gray is not None and not is_blank(gray)]
        probs = self._probabilities([grays[i] for i in readable], self._width_scale)  # type: ignore[misc]
        results = [TextResult(self.name, self._version, "", ()) for _ in crops]
        for index, line_probs in zip(readable, probs, strict=True):
            gray = grays[index]
            assert gray is not None
            chars = strip_spaces(greedy_decode(line_probs, self._characters, self._text_mask))
            text = "".join(c.char for c in chars)
            # Horizontal scale of the model input (a line over MAX_WIDTH is squeezed, not only shrunk).
            pixels_per_step = gray.shape[1] / input_width(gray.shape[0], gray.shape[1], self._width_scale) * STRIDE
            words = words_of(chars, pixels_per_step, (gray, (0, 0)))
            confidences = tuple(min(1.0, c.confidence) for c in chars)
            results[index] = TextResult(self.name, self._version, text, confidences, 0.0, words)
        per_crop = elapsed_ms(started, len(crops))
        return [TextResult(r.engine, r.model_version, r.text, r.char_confidences, per_crop, r.words) for r in results]

    def recognize_chars(self, crops: Sequence[Crop], top_k: int = 5) -> list[CharResult]:
        """Read each crop as one of the 62 character classes, with ranked alternatives."""
        started = time.perf_counter()
        glyphs = [crop_to_ink(dark_ink_on_light(to_gray(crop)), margin_ratio=GLYPH_MARGIN) for crop in crops]
        # A lone glyph is read at its own aspect ratio: the width scale was chosen on lines.
        outputs = iter(self._probabilities([g for g in glyphs if g is not None], 1.0))
        results = []
        for glyph in glyphs:
            ranked = (
                [] if glyph is None else ranked_alternatives(next(outputs), self._characters, self._char_mask, top_k)
            )
            results.append(CharResult(self.name, self._version, tuple(CharCandidate(c, p) for c, p in ranked)))
        elapsed = elapsed_ms(started, len(crops))
        return [CharResult(r.engine, r.model_version, r.candidates, elapsed) for r in results]

    def _probabilities(self, grays: Sequence[np.ndarray], width_scale: float) -> list[np.ndarray]:
        """CTC probabilities per image (time steps x classes), each read ``width_scale`` times wider than
        its aspect ratio.

        Padding changes what the model reads near a line's end, so only lines of the same scaled width
        share a batch: a line reads the same whatever else was sent with it.
        """
        prepared = [prepare_line(gray, width_scale) for gray in grays]
        by_width: dict[int, list[int]] = {}
        for index, line in enumerate(prepared):
            by_width.setdefault(line.shape[2], []).append(index)
        out: list[np.ndarray] = [np.empty(0)] * len(prepared)
        try:
            for indexes in by_width.values():
                for start in range(0, len(indexes), BATCH):
                    chunk = indexes[start : start + BATCH]
                    batch = pad_batch([prepared[i] for i in chunk])
                    probs = np.asarray(self._session.run(None, {self._input: batch})[0], dtype=np.float32)
                    for i, row in zip(chunk, probs, strict=True):
                        out[i] = row
        except Exception as exc:
            raise EngineFailure(f"line recognition failed: {type(exc).__name__}: {exc}") from exc
        return out
