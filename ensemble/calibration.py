"""Per-engine confidence calibration, applied before voting.

Engines report confidences on their own scales (Tesseract's LSTM choices, EasyOCR's line score, PP-OCR's
softmax). A fitted Platt mapping ``p' = sigmoid(a * logit(p) + b)`` per engine puts them on one scale
(the probability of being right), so confidence voting compares like with like. The mappings are
fitted by ``ocr calibrate`` on labelled data and stored in a preset.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from engines.base import CharCandidate, CharResult, EngineResult, TextResult

EPS = 1e-6


@dataclass(frozen=True)
class PlattCalibration:
    """``p' = sigmoid(a * logit(p) + b)``; a = 1, b = 0 is the identity."""

    a: float = 1.0
    b: float = 0.0

    def __call__(self, confidence: float) -> float:
        """The calibrated confidence, in (0, 1)."""
        p = min(1.0 - EPS, max(EPS, confidence))
        z = self.a * math.log(p / (1.0 - p)) + self.b
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def to_dict(self) -> dict[str, float | str]:
        """JSON form stored in presets."""
        return {"kind": "platt", "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PlattCalibration:
        """Inverse of :meth:`to_dict`; refuses unknown kinds."""
        if data.get("kind", "platt") != "platt":
            raise ValueError(f"unknown calibration kind {data.get('kind')!r}")
        a, b = data.get("a", 1.0), data.get("b", 0.0)
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            raise ValueError(f"calibration parameters must be numbers: {dict(data)}")
        return cls(float(a), float(b))


@dataclass(frozen=True)
class IsotonicCalibration:
    """A non-decreasing step map from confidence to probability, fitted by isotonic regression.

    ``thresholds[i]`` is the lowest confidence of step ``i``, ``values[i]`` its probability; a confidence
    below the first threshold gets the first value. Used for a vote's own confidence, where a two-parameter
    sigmoid cannot follow how the chance of an exactly right line rises with the vote's confidence.
    """

    thresholds: tuple[float, ...]
    values: tuple[float, ...]

    def __call__(self, confidence: float) -> float:
        """The calibrated confidence, in [0, 1]."""
        index = bisect.bisect_right(self.thresholds, confidence) - 1
        return float(self.values[max(0, index)])

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored in presets."""
        return {"kind": "isotonic", "thresholds": list(self.thresholds), "values": list(self.values)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> IsotonicCalibration:
        """Inverse of :meth:`to_dict`; refuses steps that are unequal in number, unsorted or outside [0, 1]."""
        thresholds = tuple(float(v) for v in data.get("thresholds", ()))  # type: ignore[attr-defined]
        values = tuple(float(v) for v in data.get("values", ()))  # type: ignore[attr-defined]
        if not thresholds or len(thresholds) != len(values):
            raise ValueError("isotonic calibration needs as many thresholds as values, at least one")
        if list(thresholds) != sorted(thresholds) or list(values) != sorted(values):
            raise ValueError("isotonic calibration thresholds and values must be non-decreasing")
        if not all(0.0 <= v <= 1.0 for v in values):
            raise ValueError("isotonic calibration values must lie in [0, 1]")
        return cls(thresholds, values)


Calibration = PlattCalibration | IsotonicCalibration


def calibration_from_dict(data: Mapping[str, object]) -> Calibration:
    """A Platt or isotonic calibration from its JSON form."""
    if data.get("kind") == "isotonic":
        return IsotonicCalibration.from_dict(data)
    return PlattCalibration.from_dict(data)


def calibrate(result: EngineResult, calibration: PlattCalibration | None) -> EngineResult:
    """The result with its confidences mapped through ``calibration`` (unchanged when None)."""
    if calibration is None:
        return result
    if isinstance(result, CharResult):
        candidates = tuple(CharCandidate(c.char, calibration(c.confidence)) for c in result.candidates)
        return replace(result, candidates=candidates)
    if not isinstance(result, TextResult):
        raise TypeError(f"not an engine result: {type(result).__name__}")
    return replace(result, char_confidences=tuple(calibration(c) for c in result.char_confidences))


def calibrations_from_dict(data: Mapping[str, Mapping[str, object]]) -> dict[str, PlattCalibration]:
    """Engine name -> calibration, from a preset's ``calibration`` object."""
    return {engine: PlattCalibration.from_dict(params) for engine, params in data.items()}
