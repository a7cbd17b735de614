"""The engine contract: result types, the engine base class and the one error tree.

Every engine adapter turns a batch of crops (uint8 numpy arrays, RGB ``HxWx3`` or gray ``HxW``)
into a batch of results. Errors of the library underneath are translated into this module's
hierarchy so that workers and the ensemble never see third-party exception types:

    EngineError
    ├── EngineUnavailable   the engine cannot run here (library missing, weights not found)
    ├── EngineTimeout       the engine ran past its time limit
    ├── BadImage            the crop cannot be read by this engine
    └── EngineFailure       anything else the library raised while recognising
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from config.settings import Settings

Crop = npt.NDArray[np.uint8]
Mode = Literal["char", "text"]
# An axis-aligned box in pixels: (left, top, right, bottom), right and bottom exclusive.
Box = tuple[int, int, int, int]


class EngineError(Exception):
    """Base of every error an engine reports; ``code`` is the stable machine-readable reason."""

    code: ClassVar[str] = "engine_error"


class EngineUnavailable(EngineError):
    """The engine cannot run on this machine; the message says why."""

    code = "unavailable"


class EngineTimeout(EngineError):
    """The engine did not finish within its time limit."""

    code = "timeout"


class BadImage(EngineError):
    """The crop handed to the engine cannot be recognised (empty, wrong shape)."""

    code = "bad_image"


class EngineFailure(EngineError):
    """The underlying library raised while recognising."""

    code = "failed"


@dataclass(frozen=True)
class Availability:
    """Whether an engine can run here and, when it cannot, why."""

    available: bool
    reason: str = ""


@dataclass(frozen=True)
class CharCandidate:
    """One ranked alternative for a character crop; ``confidence`` is in [0, 1]."""

    char: str
    confidence: float


@dataclass(frozen=True)
class CharResult:
    """An engine's reading of one character crop: ranked alternatives, best first."""

    engine: str
    model_version: str
    candidates: tuple[CharCandidate, ...]
    elapsed_ms: float = 0.0

    @property
    def top(self) -> CharCandidate | None:
        """The best alternative, or None when the engine saw no character."""
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the wire format between workers)."""
        return {
            "kind": "char",
            "engine": self.engine,
            "model_version": self.model_version,
            "candidates": [[c.char, c.confidence] for c in self.candidates],
            "elapsed_ms": self.elapsed_ms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CharResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            engine=data["engine"],
            model_version=data["model_version"],
            candidates=tuple(CharCandidate(str(ch), float(cf)) for ch, cf in data["candidates"]),
            elapsed_ms=float(data.get("elapsed_ms", 0.0)),
        )


@dataclass(frozen=True)
class Word:
    """A word an engine located inside a crop; ``box`` is in the crop's pixel coordinates."""

    text: str
    confidence: float
    box: Box

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"text": self.text, "confidence": self.confidence, "box": list(self.box)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        """Inverse of :meth:`to_dict`."""
        left, top, right, bottom = (int(v) for v in data["box"])
        return cls(str(data["text"]), float(data["confidence"]), (left, top, right, bottom))


@dataclass(frozen=True)
class TextResult:
    """An engine's reading of one word or line crop, with one confidence per character.

    ``words`` holds word boxes when the engine can locate them (empty otherwise).
    """

    engine: str
    model_version: str
    text: str
    char_confidences: tuple[float, ...] = field(default=())
    elapsed_ms: float = 0.0
    words: tuple[Word, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.char_confidences) != len(self.text):
            raise ValueError(f"{self.engine}: {len(self.char_confidences)} confidences for {len(self.text)} chars")

    @property
    def confidence(self) -> float:
        """Mean character confidence (0 for an empty reading)."""
        if not self.char_confidences:
            return 0.0
        return sum(self.char_confidences) / len(self.char_confidences)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the wire format between workers)."""
        return {
            "kind": "text",
            "engine": self.engine,
            "model_version": self.model_version,
            "text": self.text,
            "char_confidences": list(self.char_confidences),
            "elapsed_ms": self.elapsed_ms,
            "words": [word.to_dict() for word in self.words],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            engine=data["engine"],
            model_version=data["model_version"],
            text=data["text"],
            char_confidences=tuple(float(c) for c in data["char_confidences"]),
            elapsed_ms=float(data.get("elapsed_ms", 0.0)),
            words=tuple(Word.from_dict(w) for w in data.get("words", [])),
        )


EngineResult = CharResult | TextResult


def elapsed_ms(started: float, crops: int = 1) -> float:
    """Milliseconds since ``started`` (a ``time.perf_counter()`` reading), shared out over ``crops``."""
    return round((time.perf_counter() - started) * 1000.0 / max(1, crops), 3)


def result_from_dict(data: dict[str, Any]) -> EngineResult:
    """Rebuild a char or text result from its wire form."""
    if data.get("kind") == "char":
        return CharResult.from_dict(data)
    return TextResult.from_dict(data)


class Engine(abc.ABC):
    """An OCR engine adapter. One instance per worker process, created after the fork.

    Subclasses load their model in ``__init__`` (raising :class:`EngineUnavailable` with the
    reason when they cannot) and keep every quirk of the library they wrap inside their module.
    """

    name: ClassVar[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> Engine:
        """Build the engine from the service settings; adapters override to pick their options."""
        return cls()

    @classmethod
    def languages(cls, settings: Settings) -> frozenset[str]:
        """The languages (ISO 639-2 codes, :mod:`config.languages`) this engine can read here, known without
        loading its model; adapters whose model writes more than English override it."""
        return frozenset({"eng"})

    def for_languages(self, languages: tuple[str, ...]) -> Engine:
        """The engine that reads text in ``languages`` (all of them among :meth:`languages`): this one when
        its one model reads every language it declares; adapters with a model per language override it."""
        return self

    @property
    @abc.abstractmethod
    def model_version(self) -> str:
        """A string that changes whenever the engine's output could change (library + weights)."""

    @abc.abstractmethod
    def recognize_chars(self, crops: Sequence[Crop], top_k: int = 5) -> list[CharResult]:
        """Read one character per crop, returning up to ``top_k`` ranked alternatives each."""

    @abc.abstractmethod
    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        """Read one word or line per crop, with per-character confidences."""

    def detect_lines(self, image: Crop) -> list[Box]:
        """Find the text lines of a page image, in any order; engines without a detector refuse."""
        raise EngineUnavailable(f"{self.name} has no line detector")

    def recognize(self, crops: Sequence[Crop], mode: Mode, top_k: int = 5) -> list[EngineResult]:
        """Dispatch on ``mode``; the batch-first entry point workers call."""
        if mode == "char":
            return list(self.recognize_chars(crops, top_k=top_k))
        return list(self.recognize_text(crops))

    def close(self) -> None:  # noqa: B027 - optional hook, most engines hold nothing to release
        """Release native resources; called when the worker process exits."""
