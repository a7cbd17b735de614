"""Voting per kind of crop: each kind has its own weights, method and calibrations.

An engine can be the best reader of single characters and the worst of lines (our character CNN), or
strong on scans and weak on photographs; one weight per engine cannot say that. A fitted preset holds a
:class:`KindVoting` per kind it had enough data for. A job's kind comes from its mode and, for a line,
from the client's ``content`` hint; a kind the preset lacks falls back along :data:`FALLBACK`
(``printed`` -> ``line``), and a preset without kinds votes with its top-level weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from ensemble.calibration import Calibration, PlattCalibration, calibration_from_dict, calibrations_from_dict
from ensemble.cascade import Cascade
from ensemble.voting import METHODS, Method

Kind = Literal["char", "line", "printed", "handwritten", "scene", "page"]
KINDS: tuple[Kind, ...] = get_args(Kind)
Content = Literal["printed", "handwritten", "scene"]
CONTENTS: tuple[Content, ...] = get_args(Content)
# Where a kind without its own fit takes its voting from (None: the preset's top level).
FALLBACK: dict[Kind, Kind | None] = {
    "char": None,
    "line": None,
    "printed": "line",
    "handwritten": "line",
    "scene": "line",
    "page": "line",
}


@dataclass(frozen=True)
class KindVoting:
    """How to vote on one kind of crop.

    ``confidence`` maps the vote's own confidence (a line's, or a character's in char mode) to the
    probability that the answer is exactly right; ``char_confidence`` maps each character's confidence
    within a line to the probability that the character is right. ``preprocess`` names, per engine, the
    optional steps of :mod:`engines.steps` its crops go through first (none unless listed). ``cascade``,
    when set, lets cheap engines answer the crops they are sure of (:mod:`ensemble.cascade`).
    """

    weights: dict[str, float]
    method: Method
    calibration: dict[str, PlattCalibration] = field(default_factory=dict)
    confidence: Calibration | None = None
    char_confidence: Calibration | None = None
    preprocess: dict[str, list[str]] = field(default_factory=dict)
    cascade: Cascade | None = None

    def can_change_answer(self, engine: str) -> bool:
        """False for an engine this voting gives no say: weight 0 under a method that uses weights
        (``majority`` counts every engine alike), while some other engine has a say."""
        if self.method == "majority" or not any(self.weights.values()):
            return True
        return self.weights.get(engine, 1.0) > 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in presets and carried in job options."""
        return {
            "weights": dict(self.weights),
            "method": self.method,
            "calibration": {engine: cal.to_dict() for engine, cal in sorted(self.calibration.items())},
            "confidence": self.confidence.to_dict() if self.confidence else None,
            "char_confidence": self.char_confidence.to_dict() if self.char_confidence else None,
            "preprocess": {engine: list(steps) for engine, steps in sorted(self.preprocess.items()) if steps},
            "cascade": self.cascade.to_dict() if self.cascade else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KindVoting:
        """Inverse of :meth:`to_dict` (weights are validated by the caller)."""
        confidence, char_confidence = data.get("confidence"), data.get("char_confidence")
        cascade = data.get("cascade")
        return cls(
            weights={str(k): float(v) for k, v in dict(data.get("weights") or {}).items()},
            method=_method(data.get("method", "confidence")),
            calibration=calibrations_from_dict(data.get("calibration") or {}),
            confidence=calibration_from_dict(confidence) if confidence else None,
            char_confidence=calibration_from_dict(char_confidence) if char_confidence else None,
            preprocess={str(k): [str(step) for step in v] for k, v in dict(data.get("preprocess") or {}).items()},
            cascade=Cascade.from_dict(cascade) if cascade else None,
        )


def _method(value: object) -> Method:
    """A voting method named in a preset (ValueError for any other)."""
    for method in METHODS:
        if value == method:
            return method
    raise ValueError(f"unknown voting method {value!r}; expected one of {METHODS}")


def job_kind(mode: str, content: str | None) -> Kind:
    """The kind of crop a job's readings are: ``char``, the content the client said a line (or every line of
    a page) holds, ``page`` (lines of a page without a hint) or ``line``."""
    if mode == "char":
        return "char"
    if content in CONTENTS:
        return cast(Kind, content)
    return "page" if mode == "page" else "line"


def voting_for(kinds: Mapping[str, KindVoting], kind: Kind) -> KindVoting | None:
    """The voting for ``kind``, following :data:`FALLBACK`; None when the preset has none for it."""
    current: Kind | None = kind
    while current is not None:
        if current in kinds:
            return kinds[current]
        current = FALLBACK[current]
    return None
