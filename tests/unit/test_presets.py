"""Weight presets: loading and validating the file, choosing between preset and request."""

from __future__ import annotations

from pathlib import Path

import pytest

from ensemble.presets import (
    InvalidPresets,
    UnknownPreset,
    load_presets,
    resolve_weights,
)

PRESETS_FILE = Path(__file__).resolve().parents[2] / "config" / "presets.json"
PRESETS = {"general": {"a": 1.0, "b": 0.5}, "printed": {"a": 2.0}}


def write(tmp_path: Path, content: str) -> Path:
    """Write a presets file and return its path."""
    path = tmp_path / "presets.json"
    path.write_text(content, encoding="utf-8")
    return path


def test_project_presets_file_loads() -> None:
    presets = load_presets(PRESETS_FILE)
    assert {"general", "handwritten", "printed", "noisy"} <= set(presets)
    assert all(weight >= 0 for table in presets.values() for weight in table.values())


def test_integer_weights_become_floats(tmp_path: Path) -> None:
    presets = load_presets(write(tmp_path, '{"p": {"a": 2, "b": 0.5}, "empty": {}}'))
    assert presets == {"p": {"a": 2.0, "b": 0.5}, "empty": {}}
    assert isinstance(presets["p"]["a"], float)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('[{"a": 1}]', "JSON object"),
        ('{"p": [1, 2]}', "preset 'p'"),
        ('{"p": {"a": "1"}}', "not a number"),
        ('{"p": {"a": true}}', "not a number"),
        ('{"p": {"a": null}}', "not a number"),
        ('{"p": {"a": -0.5}}', ">= 0"),
        ('{"p": {"a": NaN}}', "finite"),
        ('{"p": {"a": Infinity}}', "finite"),
    ],
)
def test_invalid_presets_are_refused(
    tmp_path: Path,
    content: str,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        load_presets(write(tmp_path, content))


def test_invalid_presets_error_is_a_value_error() -> None:
    assert issubclass(InvalidPresets, ValueError)


def test_explicit_weights_win_over_the_preset() -> None:
    weights = resolve_weights(PRESETS, "printed", {"b": 3}, default_preset="general")
    assert weights == {"b": 3.0}


def test_named_preset_is_used() -> None:
    weights = resolve_weights(PRESETS, "printed", None, default_preset="general")
    assert weights == {"a": 2.0}


@pytest.mark.parametrize("weights", [None, {}])
def test_default_preset_when_nothing_is_asked(weights: dict[str, float] | None) -> None:
    resolved = resolve_weights(PRESETS, None, weights, default_preset="general")
    assert resolved == PRESETS["general"]


def test_resolved_weights_are_a_copy() -> None:
    weights = resolve_weights(PRESETS, "general", None, default_preset="general")
    weights["a"] = 99.0
    assert PRESETS["general"]["a"] == 1.0


@pytest.mark.parametrize(
    ("preset", "default"),
    [("fancy", "general"), (None, "missing")],
)
def test_unknown_preset_lists_the_known_ones(preset: str | None, default: str) -> None:
    with pytest.raises(UnknownPreset) as caught:
        resolve_weights(PRESETS, preset, None, default_preset=default)
    assert isinstance(caught.value, KeyError)
    assert "general, printed" in str(caught.value)
    assert repr(preset or default) in str(caught.value)


def test_negative_explicit_weight_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        resolve_weights(PRESETS, None, {"a": -1.0}, default_preset="general")
