"""Presets fitted on labelled data by ``ocr calibrate``: weights, a voting method and calibrations.

Each preset is one JSON file, ``<presets dir>/<name>.json``::

    {"weights": {"tesseract": 0.5, ...}, "method": "confidence",
     "calibration": {"tesseract": {"kind": "platt", "a": 1.3, "b": -0.2}, ...}, "fitted": {...}}

``fitted`` records how it was made (manifest, split, metrics) and is not read by the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ensemble.calibration import PlattCalibration, calibrations_from_dict
from ensemble.presets import InvalidPresets, validate_weights
from ensemble.voting import METHODS, Method


@dataclass(frozen=True)
class FittedPreset:
    """Weights, the method they were fitted for, and per-engine confidence calibrations."""

    weights: dict[str, float]
    method: Method
    calibration: dict[str, PlattCalibration] = field(default_factory=dict)
    fitted: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written by ``ocr calibrate``."""
        return {
            "weights": self.weights,
            "method": self.method,
            "calibration": {engine: cal.to_dict() for engine, cal in self.calibration.items()},
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
    return FittedPreset(validate_weights(where, weights), method, calibration, dict(data.get("fitted") or {}))


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
