"""Engine weight presets (``config/presets.json``) and the choice between preset and request."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

Presets = dict[str, dict[str, float]]


class InvalidPresets(ValueError):
    """A presets file or a weights mapping that is not ``{name: {engine: weight >= 0}}``."""


class UnknownPreset(KeyError):
    """A preset name that the presets file does not define; the message lists the known ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = sorted(known)

    def __str__(self) -> str:
        known = ", ".join(self.known) or "(none)"
        # A client's name is quoted back only in part: an error message must not echo a megabyte.
        shown = self.name if len(self.name) <= 80 else self.name[:80] + "..."
        return f"unknown preset {shown!r}; known presets: {known}"


def load_presets(path: Path) -> Presets:
    """Read and validate a presets file: ``{preset: {engine: weight}}``.

    Weights must be finite numbers >= 0 (booleans are refused). Raises :class:`InvalidPresets`
    (a ValueError) naming the offending preset and engine when the file is not valid JSON or
    not of that shape.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidPresets(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidPresets(f"{path}: expected a JSON object of presets, got {type(data).__name__}")
    return {name: _parse_preset(path, name, table) for name, table in data.items()}


def validate_weights(where: str, weights: Mapping[str, object]) -> dict[str, float]:
    """Check that every weight is a finite number >= 0 and return them as floats."""
    parsed: dict[str, float] = {}
    for engine, weight in weights.items():
        at = f"{where}, engine {engine!r}"
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise InvalidPresets(f"{at}: weight is not a number: {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise InvalidPresets(f"{at}: weight must be finite and >= 0: {weight}")
        parsed[str(engine)] = float(weight)
    return parsed


def resolve_weights(
    presets: Mapping[str, Mapping[str, float]],
    preset: str | None,
    weights: Mapping[str, float] | None,
    default_preset: str,
) -> dict[str, float]:
    """The engine weights to vote with.

    Explicit, non-empty ``weights`` win outright (they replace the preset, they are not merged
    into it; an empty mapping counts as not given). Otherwise the named ``preset`` is used, or
    ``default_preset`` when ``preset`` is None. Raises :class:`UnknownPreset` for a name not in
    ``presets``, and :class:`InvalidPresets` (a ValueError) for a negative or non-numeric
    explicit weight.
    """
    if weights:
        return validate_weights("weights", weights)
    name = default_preset if preset is None else preset
    if name not in presets:
        raise UnknownPreset(name, list(presets))
    return dict(presets[name])


def _parse_preset(path: Path, name: str, table: object) -> dict[str, float]:
    """Validate one preset's table of weights."""
    where = f"{path}: preset {name!r}"
    if not isinstance(table, dict):
        raise InvalidPresets(f"{where}: expected an object of engine weights")
    return validate_weights(where, table)
