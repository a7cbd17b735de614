"""The options a job runs with, resolved by the API before the job is queued."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

# char: one character; line: a word or one line of text; page: lines found by a detector first.
Mode = Literal["char", "line", "page"]
RequestedMode = Literal["char", "text", "line", "page", "auto"]
Method = Literal["weighted", "confidence", "majority", "select"]


@dataclass(frozen=True)
class JobOptions:
    """Resolved options: ``mode`` is never ``auto`` here (the API decided it from the image)."""

    mode: Mode
    engines: tuple[str, ...]
    method: Method
    weights: dict[str, float]
    requested_mode: RequestedMode = "auto"
    preset: str | None = None
    top_k: int = 5
    layout_engine: str | None = None
    calibration: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # A fitted preset's voting per kind of crop (ensemble.kinds), and the client's hint for a line.
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    content: str | None = None
    # False runs every engine on every crop even when the job's voting has a cascade.
    cascade: bool = True
    # Engines left out because they cannot change the answer (engine -> why), reported in the result.
    skipped_engines: dict[str, str] = field(default_factory=dict)
    # Page mode: find and undo a quarter-turn rotation and straighten a small skew before reading.
    upright: bool = True
    # The API key that owns the job when keys are required: results are cached per owner, so a cache hit
    # never tells one client what another sent.
    cache_scope: str | None = None
    # The languages to read (ISO 639-2, config/languages.py), in the client's order: engines that cannot
    # read every one are left out (skipped_engines), the others read with their data for them. Empty in
    # jobs stored before languages existed: each engine's default model.
    languages: tuple[str, ...] = ()
    # Letter forms replaced in every reading (ensemble.folding.FOLDS); empty keeps what is on the page.
    folds: tuple[str, ...] = ()

    def cache_material(self) -> dict[str, Any]:
        """Everything in the options that can change a result (part of the content key), and the owner's
        scope when there is one."""
        material = {
            "mode": self.mode,
            "engines": sorted(self.engines),
            "method": self.method,
            "weights": {name: self.weights.get(name, 1.0) for name in sorted(self.engines)},
            "top_k": self.top_k,
            "layout_engine": self.layout_engine if self.mode == "page" else None,
            "calibration": {name: self.calibration[name] for name in sorted(self.calibration)},
            "kinds": {kind: self.kinds[kind] for kind in sorted(self.kinds)},
            "content": self.content,
            "cascade": self.cascade,
            "upright": self.upright if self.mode == "page" else None,
            "languages": list(self.languages),
            "folds": list(self.folds),
        }
        if self.cache_scope:
            material["scope"] = self.cache_scope
        return material

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored in the job record (shallow: the values are JSON data already, and a
        deep copy of a fitted preset's calibration maps was a third of a cache hit's time); each mapping is
        a new dict, so changing the result's top level never changes these options."""
        data = {f.name: _copied(getattr(self, f.name)) for f in fields(self)}
        data["engines"] = list(self.engines)
        data["languages"] = list(self.languages)
        data["folds"] = list(self.folds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobOptions:
        """Inverse of :meth:`to_dict`."""
        return cls(
            **{
                **data,
                "engines": tuple(data["engines"]),
                "languages": tuple(data.get("languages", ())),
                "folds": tuple(data.get("folds", ())),
            }
        )


def _copied(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value
