"""Our character CNN (62 EMNIST ByClass classes) served with onnxruntime; no torch at serving time.

The model folder (``OCR_EMNIST_MODEL_DIR``) holds ``model.onnx`` and ``metadata.json`` (classes,
input and output names, the sha256 of every file). The ONNX file is refused unless its sha256 equals
the metadata's (and ``OCR_EMNIST_MODEL_SHA256`` when that pins one).

- Characters: each crop is normalised exactly as in training (``engines.glyph``), the batch goes
  through the network at once, and the top-k softmax probabilities are the alternatives.
- Text: the crop is cut into characters (``engines.segment``), every glyph of every crop is classified
  in one batch, too-wide blobs are split where the pieces read better than the whole, and gaps become
  spaces. Letters whose two cases differ only in size (c o s u v w x z) take their case from their
  height against the line's other letters; their confidence is then the model's probability for the
  letter in either case. Single characters get no such correction: a 28x28 glyph has no size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from engines.base import (
    Box,
    CharCandidate,
    CharResult,
    Crop,
    Engine,
    EngineFailure,
    EngineUnavailable,
    TextResult,
    Word,
    elapsed_ms,
)
from engines.files import checked_digest, cpu_session
from engines.glyph import GLYPH_SIZE, normalize_glyph, normalize_ink
from engines.preprocess import to_gray
from engines.segment import Line, Segment, segment_line, split_candidates

if TYPE_CHECKING:
    from config.settings import Settings

MAX_BATCH = 256
# A split of a wide blob is kept when its pieces' mean confidence beats the whole's by this much.
SPLIT_GAIN = 0.1
SIZE_ONLY_CASES = frozenset("cosuvwxz")
# Letters whose height is the line's capital height, and those whose height is its x-height.
TALL = frozenset("0123456789ABDEFGHIJKLMNPQRTYbdfhkl")
SHORT = frozenset("aemnr")

Probabilities = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ModelFiles:
    """What ``metadata.json`` says about the model next to it."""

    onnx_path: Path
    classes: str
    input_name: str
    output_name: str
    version: str
    sha256: str


def load_model_files(model_dir: Path, pinned_sha256: str = "") -> ModelFiles:
    """Read and check the model folder; :class:`EngineUnavailable` says what is wrong."""
    metadata_path, onnx_path = model_dir / "metadata.json", model_dir / "model.onnx"
    for path in (metadata_path, onnx_path):
        if not path.is_file():
            raise EngineUnavailable(f"{path} not found; set OCR_EMNIST_MODEL_DIR or train one (ocr train-cnn)")
    try:
        metadata: dict[str, Any] = json.loads(metadata_path.read_text())
        expected = str(metadata["files"]["model.onnx"]["sha256"])
        files = ModelFiles(
            onnx_path,
            str(metadata["classes"]),
            str(metadata["input"]["name"]),
            str(metadata["output"]["name"]),
            str(metadata["version"]),
            expected,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise EngineUnavailable(f"{metadata_path} is not a model metadata file ({exc!r})") from exc
    checked_digest(onnx_path, ((expected, str(metadata_path)), (pinned_sha256, "OCR_EMNIST_MODEL_SHA256")))
    return files


class EmnistCnnEngine(Engine):
    """The 62-class character CNN; batched onnxruntime inference, polarity-agnostic, text by segmentation."""

    name = "emnist_cnn"

    def __init__(self, model_dir: Path, threads: int = 1, pinned_sha256: str = "") -> None:
        files = load_model_files(model_dir, pinned_sha256)
        self._session: Any = cpu_session(files.onnx_path, threads)
        import onnxruntime  # importable: the session above was made with it

        self._files = files
        self._classes = files.classes
        self._version = f"emnist_cnn-{files.version}-{files.sha256[:12]}/onnxruntime-{onnxruntime.__version__}"

    @classmethod
    def from_settings(cls, settings: Settings) -> EmnistCnnEngine:
        """Build from ``OCR_EMNIST_MODEL_DIR``, ``OCR_EMNIST_MODEL_SHA256`` and ``OCR_ONNX_THREADS``."""
        return cls(settings.emnist_model_dir, settings.onnx_threads, settings.emnist_model_sha256)

    @property
    def model_version(self) -> str:
        """Model folder version, the ONNX file's digest and the onnxruntime version."""
        return self._version

    @property
    def classes(self) -> str:
        """The characters the network can answer, in output order."""
        return self._classes

    def predict(self, glyphs: npt.NDArray[np.uint8]) -> Probabilities:
        """Probabilities for normalised 28x28 glyphs ``(N, 28, 28)``, in batches of ``MAX_BATCH``."""
        if len(glyphs) == 0:
            return np.zeros((0, len(self._classes)), dtype=np.float32)
        chunks = []
        for start in range(0, len(glyphs), MAX_BATCH):
            batch = (glyphs[start : start + MAX_BATCH].astype(np.float32) / 255.0)[:, None, :, :]
            try:
                output = self._session.run([self._files.output_name], {self._files.input_name: batch})[0]
            except Exception as exc:  # translate onnxruntime's errors into the contract's
                raise EngineFailure(f"onnxruntime failed: {exc}") from exc
            chunks.append(np.asarray(output, dtype=np.float32))
        return np.concatenate(chunks)

    def recognize_chars(self, crops: Sequence[Crop], top_k: int = 5) -> list[CharResult]:
        """One character per crop; a blank crop gets no candidates."""
        started = time.perf_counter()
        glyphs = [normalize_glyph(to_gray(crop)) for crop in crops]
        present = [g for g in glyphs if g is not None]
        probabilities = iter(self.predict(np.stack(present) if present else _no_glyphs()))
        share = elapsed_ms(started, len(crops))
        results = []
        for glyph in glyphs:
            candidates = self._top_k(next(probabilities), top_k) if glyph is not None else ()
            results.append(CharResult(self.name, self._version, candidates, share))
        return results

    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        """Each crop as one word or line: segmented, classified in one batch, spaces from the gaps."""
        started = time.perf_counter()
        plans = [_plan(segment_line(to_gray(crop))) for crop in crops]
        glyphs = [glyph for plan in plans for item in plan for glyph in item.glyphs()]
        probabilities = self.predict(np.stack(glyphs) if glyphs else _no_glyphs())
        share = elapsed_ms(started, len(crops))
        results, offset = [], 0
        for plan in plans:
            readings, offset = _choose_splits(plan, probabilities, offset)
            text, confidences, words = _assemble(_case_from_height(readings, self._classes), self._classes)
            results.append(TextResult(self.name, self._version, text, confidences, share, words))
        return results

    def _top_k(self, probabilities: Probabilities, top_k: int) -> tuple[CharCandidate, ...]:
        order = np.argsort(-probabilities, kind="stable")[:top_k]
        return tuple(CharCandidate(self._classes[i], float(probabilities[i])) for i in order)


@dataclass(frozen=True)
class _Reading:
    segment: Segment
    probabilities: Probabilities
    space_after: float  # 0: no space after this character


def _no_glyphs() -> npt.NDArray[np.uint8]:
    return np.zeros((0, GLYPH_SIZE, GLYPH_SIZE), dtype=np.uint8)


def _glyph_of(segment: Segment) -> npt.NDArray[np.uint8]:
    glyph = normalize_ink(segment.ink)
    # An empty piece (a cut that left no ink) reads as a blank glyph: low confidence, never chosen.
    return glyph if glyph is not None else np.zeros((GLYPH_SIZE, GLYPH_SIZE), dtype=np.uint8)


@dataclass(frozen=True)
class _Planned:
    segment: Segment
    pieces: tuple[Segment, ...]  # the split proposed for a too-wide blob; empty when none
    space_after: float

    def glyphs(self) -> list[npt.NDArray[np.uint8]]:
        return [_glyph_of(part) for part in (self.segment, *self.pieces)]


def _plan(line: Line | None) -> list[_Planned]:
    """Every segment of a line with the split proposed for it, and the space after it."""
    if line is None:
        return []
    spaces = [*line.space_after, 0.0]
    plan = []
    for segment, space in zip(line.segments, spaces, strict=True):
        pieces = split_candidates(segment, line.char_height)
        plan.append(_Planned(segment, tuple(pieces) if len(pieces) > 1 else (), space))
    return plan


def _choose_splits(plan: list[_Planned], probabilities: Probabilities, offset: int) -> tuple[list[_Reading], int]:
    """Keep a wide blob whole unless its pieces read clearly better (touching characters)."""
    readings: list[_Reading] = []
    for item in plan:
        whole = probabilities[offset]
        pieces = probabilities[offset + 1 : offset + 1 + len(item.pieces)]
        offset += 1 + len(item.pieces)
        if item.pieces and float(pieces.max(axis=1).mean()) > float(whole.max()) + SPLIT_GAIN:
            last = len(item.pieces) - 1
            for k, piece in enumerate(item.pieces):
                readings.append(_Reading(piece, pieces[k], item.space_after if k == last else 0.0))
        else:
            readings.append(_Reading(item.segment, whole, item.space_after))
    return readings, offset


def _case_from_height(readings: list[_Reading], classes: str) -> list[_Reading]:
    """Letters of size-only cases take the case whose height (capital or x-height) theirs is nearer to."""
    tops = [classes[int(r.probabilities.argmax())] for r in readings]
    tall = [r.segment.height for r, c in zip(readings, tops, strict=True) if c in TALL]
    short = [r.segment.height for r, c in zip(readings, tops, strict=True) if c in SHORT]
    if not tall and not short:
        return readings
    # With one reference only, the other is taken from the usual x-height / capital-height ratio.
    tall_height = float(np.median(tall)) if tall else 1.4 * float(np.median(short))
    short_height = float(np.median(short)) if short else 0.7 * float(np.median(tall))
    out = []
    for reading, char in zip(readings, tops, strict=True):
        if char.lower() in SIZE_ONLY_CASES:
            height = reading.segment.height
            target = char.lower() if abs(height - short_height) < abs(height - tall_height) else char.upper()
            moved = _with_case(reading.probabilities, target, classes)
            reading = _Reading(reading.segment, moved, reading.space_after)
        out.append(reading)
    return out


def _with_case(probabilities: Probabilities, target: str, classes: str) -> Probabilities:
    """Both cases' probability on ``target``: the letter's identity is what the model can know."""
    moved = probabilities.copy()
    other = classes.index(target.swapcase())
    moved[classes.index(target)] += moved[other]
    moved[other] = 0.0
    return moved


def _assemble(readings: list[_Reading], classes: str) -> tuple[str, tuple[float, ...], tuple[Word, ...]]:
    """Text, one confidence per character (spaces included) and the words with their boxes."""
    chars: list[str] = []
    confidences: list[float] = []
    words: list[Word] = []
    word: list[tuple[str, float, Box]] = []
    for reading in readings:
        best = int(reading.probabilities.argmax())
        char, confidence = classes[best], min(1.0, float(reading.probabilities[best]))
        chars.append(char)
        confidences.append(confidence)
        word.append((char, confidence, reading.segment.box))
        if reading.space_after > 0:
            words.append(_word(word))
            word = []
            chars.append(" ")
            confidences.append(reading.space_after)
    if word:
        words.append(_word(word))
    return "".join(chars), tuple(confidences), tuple(words)


def _word(chars: list[tuple[str, float, Box]]) -> Word:
    boxes = [box for _, _, box in chars]
    box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return Word("".join(c for c, _, _ in chars), float(np.mean([c for _, c, _ in chars])), box)
