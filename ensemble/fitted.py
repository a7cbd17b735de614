"""Presets fitted on labelled data by ``ocr calibrate``: weights, a voting method and calibrations.

Each preset is one JSON file, ``<presets dir>/<name>.json``::

    {"weights": {"tesseract": 0.5, ...}, "method": "confidence",
     "calibration": {"tesseract": {"kind": "platt", "a": 1.3, "b": -0.2}, ...},
     "kinds": {"char": {"weights": ..., "method": ..., "calibration": ..., "confidence": ...}, ...},
     "fitted": {...}}

The top level is the voting for any kind the preset has no entry for in ``kinds``
(:mod:`ensemble.kinds`). ``fitted`` records how it was made (data, cross-validated scores, the guard's
verdict) and is not read by the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.steps import check_steps
from ensemble.calibration import PlattCalibration, calibrations_from_dict
from ensemble.kinds import KINDS, KindVoting
from ensemble.presets import InvalidPresets, validate_weights
from ensemble.voting import METHODS, Method


@dataclass(frozen=True)
class FittedPreset:
    """Weights, the method they were fitted for, and per-engine confidence calibrations."""

    weights: dict[str, float]
    method: Method
    calibration: dict[str, PlattCalibration] = field(default_factory=dict)
    fitted: dict[str, Any] = field(default_factory=dict)
    kinds: dict[str, KindVoting] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written by ``ocr calibrate``."""
        return {
            "weights": self.weights,
            "method": self.method,
            "calibration": {engine: cal.to_dict() for engine, cal in self.calibration.items()},
            "kinds": {kind: voting.to_dict() for kind, voting in sorted(self.kinds.items())},
            "fitted": self.fitted,
        }


def parse_fitted_preset(where: str, data: object) -> FittedPreset:
    """Validate one fitted preset's JSON."""
    if not isinstance(data, dict):
        raise InvalidPresets(f"{where}: expected a JSON object")
    method = data.get("method", "confidence")
    if method not in METHODS:
        raise InvalidPresets(f"{where}: unknown method {method!r}")
    weights = data.get("weights")
    if not isinstance(weights, dict):
        raise InvalidPresets(f"{where}: 'weights' must be an object of engine -> weight")
    try:
        calibration = calibrations_from_dict(data.get("calibration") or {})
    except (ValueError, AttributeError) as exc:
        raise InvalidPresets(f"{where}: {exc}") from exc
    kinds = _parse_kinds(where, data.get("kinds") or {})
    return FittedPreset(validate_weights(where, weights), method, calibration, dict(data.get("fitted") or {}), kinds)


def _parse_kinds(where: str, data: object) -> dict[str, KindVoting]:
    """Validate a preset's per-kind votings."""
    if not isinstance(data, dict):
        raise InvalidPresets(f"{where}: 'kinds' must be an object of kind -> voting")
    kinds: dict[str, KindVoting] = {}
    for kind, voting in data.items():
        at = f"{where}, kind {kind!r}"
        if kind not in KINDS:
            raise InvalidPresets(f"{at}: unknown kind; expected one of {KINDS}")
        if not isinstance(voting, dict) or not isinstance(voting.get("weights"), dict):
            raise InvalidPresets(f"{at}: expected an object with 'weights'")
        if voting.get("method", "confidence") not in METHODS:
            raise InvalidPresets(f"{at}: unknown method {voting.get('method')!r}")
        validate_weights(at, voting["weights"])
        try:
            kinds[kind] = KindVoting.from_dict(voting)
            for steps in kinds[kind].preprocess.values():
                check_steps(steps)
        except (ValueError, AttributeError, TypeError, KeyError) as exc:
            raise InvalidPresets(f"{at}: {exc!s}") from exc
    return kinds


def load_fitted_presets(directory: Path | None) -> dict[str, FittedPreset]:
    """Every ``*.json`` preset in ``directory`` by file stem (none when the folder is absent)."""
    if directory is None or not directory.is_dir():
        return {}
    presets: dict[str, FittedPreset] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidPresets(f"{path}: not valid JSON: {exc}") from exc
        presets[path.stem] = parse_fitted_preset(str(path), data)
    return presets


def save_fitted_preset(path: Path, preset: FittedPreset) -> None:
    """Write a preset where the server will find it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(preset.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
