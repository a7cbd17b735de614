"""Votings per kind of crop: presets that hold them, how a job finds its kind, and results built with them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engines.base import CharCandidate, CharResult, TextResult
from engines.steps import STEPS, apply_steps, check_steps
from ensemble.calibration import PlattCalibration
from ensemble.fitted import FittedPreset, load_fitted_presets, save_fitted_preset
from ensemble.kinds import KindVoting, job_kind, voting_for
from ensemble.presets import InvalidPresets
from jobs.options import JobOptions
from jobs.results import build_result, voting_rule

CHARS = KindVoting({"cnn": 1.0, "ocr": 0.0}, "confidence")
LINES = KindVoting({"cnn": 0.0, "ocr": 1.0}, "select", confidence=PlattCalibration(1.0, -1.0))


@pytest.mark.parametrize(
    ("mode", "content", "kind"),
    [("char", None, "char"), ("char", "scene", "char"), ("page", None, "page"), ("line", None, "line"),
     ("line", "handwritten", "handwritten"), ("line", "nonsense", "line"), ("page", "printed", "printed")],
)  # fmt: skip
def test_a_jobs_kind_comes_from_its_mode_and_content_hint(mode: str, content: str | None, kind: str) -> None:
    assert job_kind(mode, content) == kind


def test_a_kind_without_its_own_voting_falls_back_to_lines_then_to_none() -> None:
    kinds = {"char": CHARS, "line": LINES}
    assert voting_for(kinds, "scene") is LINES
    assert voting_for(kinds, "page") is LINES
    assert voting_for(kinds, "char") is CHARS
    assert voting_for({"char": CHARS}, "printed") is None


def test_presets_with_kinds_round_trip(tmp_path: Path) -> None:
    preset = FittedPreset({"ocr": 1.0}, "select", kinds={"char": CHARS, "line": LINES})
    save_fitted_preset(tmp_path / "p.json", preset)
    loaded = load_fitted_presets(tmp_path)["p"]
    assert loaded.kinds["line"] == LINES and loaded.kinds["char"] == CHARS


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        ({"poems": {"weights": {}}}, "unknown kind"),
        ({"line": {"weights": {"a": -1}}}, "finite and >= 0"),
        ({"line": {"weights": {}, "method": "vibes"}}, "unknown method"),
        ({"line": {"weights": {}, "preprocess": {"a": ["sharpen"]}}}, "unknown preprocessing step"),
    ],
)
def test_bad_kind_votings_are_refused_with_the_reason(tmp_path: Path, kinds: dict, message: str) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({"weights": {}, "method": "select", "kinds": kinds}))
    with pytest.raises(InvalidPresets, match=message):
        load_fitted_presets(tmp_path)


def _options(mode: str, content: str | None = None, kinds: dict | None = None) -> JobOptions:
    default = {"char": CHARS.to_dict(), "line": LINES.to_dict()}
    return JobOptions(
        mode=mode,  # type: ignore[arg-type]
        engines=("cnn", "ocr"),
        method="weighted",
        weights={},
        content=content,
        kinds=default if kinds is None else kinds,
    )


def _text(engine: str, text: str, confidence: float) -> dict:
    return {
        "engine": engine,
        "ok": True,
        "results": [TextResult(engine, "v", text, (confidence,) * len(text)).to_dict()],
    }


def _char(engine: str, char: str, confidence: float) -> dict:
    result = CharResult(engine, "v", (CharCandidate(char, confidence),))
    return {"engine": engine, "ok": True, "results": [result.to_dict()]}


def test_the_same_engines_win_characters_and_lose_lines() -> None:
    char = build_result([_char("cnn", "O", 0.6), _char("ocr", "0", 0.9)], _options("char"))
    line = build_result([_text("cnn", "0live", 0.99), _text("ocr", "olive", 0.8)], _options("line"))
    assert char is not None and line is not None
    assert (char["character"], char["method"], char["kind"]) == ("O", "confidence", "char")
    assert (line["text"], line["method"], line["kind"]) == ("olive", "select", "line")
    assert line["weights"] == {"cnn": 0.0, "ocr": 1.0}
    (only,) = line["lines"]
    assert only["selected"] == "ocr"
    # Engines with weight 0 cannot change the vote and are not reported as disagreeing.
    assert only["disagreements"] == []


def test_the_vote_confidence_is_mapped_by_the_kinds_calibration() -> None:
    line = build_result([_text("ocr", "olive", 0.8)], _options("line"))
    assert line is not None
    # The map reads the product of the character confidences: all five right at 0.8 each.
    assert line["confidence"] == pytest.approx(PlattCalibration(1.0, -1.0)(0.8**5))
    assert line["lines"][0]["confidence"] == pytest.approx(line["confidence"])


def test_disagreements_name_the_voting_engines_readings() -> None:
    both = KindVoting({"a": 1.0, "b": 1.0}, "select")
    line = build_result(
        [_text("a", "Future", 0.9), _text("b", "Fuure", 0.5)],
        JobOptions(mode="line", engines=("a", "b"), method="weighted", weights={}, kinds={"line": both.to_dict()}),
    )
    assert line is not None
    (span,) = line["lines"][0]["disagreements"]
    assert (span["text"], span["readings"]) == ("t", {"a": "t", "b": ""})


def test_without_kinds_the_jobs_own_weights_and_method_vote() -> None:
    rule = voting_rule(JobOptions(mode="line", engines=("a",), method="majority", weights={"a": 2.0}))
    assert (rule.method, rule.weights) == ("majority", {"a": 2.0})


def test_a_content_hint_picks_its_kinds_voting() -> None:
    scene = KindVoting({"cnn": 1.0, "ocr": 0.0}, "select")
    options = _options("line", content="scene", kinds={"line": LINES.to_dict(), "scene": scene.to_dict()})
    assert voting_rule(options).weights == {"cnn": 1.0, "ocr": 0.0}
    assert voting_rule(_options("line", kinds={"line": LINES.to_dict(), "scene": scene.to_dict()})) == LINES


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("shape", [(30, 90), (30, 90, 3)])
def test_every_step_keeps_the_crops_size_and_type(step: str, shape: tuple[int, ...]) -> None:
    crop = np.full(shape, 200, dtype=np.uint8)
    crop[10:20, 10:80] = 30
    out = apply_steps(crop, [step])
    assert out.shape[:2] == crop.shape[:2] and out.dtype == np.uint8


def test_deskew_straightens_a_tilted_bar() -> None:
    import cv2

    from engines.steps import skew_angle

    page = np.full((80, 240), 255, dtype=np.uint8)
    page[36:44, 20:220] = 0
    tilted = cv2.warpAffine(page, cv2.getRotationMatrix2D((120, 40), 3.0, 1.0), (240, 80), borderValue=255)
    assert skew_angle(tilted) == pytest.approx(-3.0, abs=0.5)
    assert skew_angle(page) == 0.0


def test_unknown_steps_are_named() -> None:
    assert check_steps(["clahe"]) == ["clahe"]
    with pytest.raises(ValueError, match="sharpen"):
        check_steps(["sharpen"])


def test_characters_the_preset_is_unsure_of_are_in_doubt_even_with_one_voter() -> None:
    doubtful = KindVoting({"cnn": 0.0, "ocr": 1.0}, "select", char_confidence=PlattCalibration(1.0, -3.0))
    options = _options("line", kinds={"line": doubtful.to_dict()})
    sure = _text("ocr", "olive", 0.999)
    unsure = {
        "engine": "ocr",
        "ok": True,
        "results": [TextResult("ocr", "v", "olive", (0.999, 0.999, 0.6, 0.999, 0.999)).to_dict()],
    }
    assert build_result([sure, _text("cnn", "0live", 0.9)], options)["lines"][0]["disagreements"] == []  # type: ignore[index]
    line = build_result([unsure, _text("cnn", "0live", 0.9)], options)
    assert line is not None
    (span,) = line["lines"][0]["disagreements"]
    # Only the unsure 'i' is in doubt; the silent engine's reading is shown, not counted.
    assert (span["start"], span["end"], span["text"]) == (2, 3, "i")
    assert span["readings"] == {"ocr": "i", "cnn": "i"}


def test_deskew_finds_the_angle_of_light_text_on_a_dark_sign_too() -> None:
    import cv2

    from engines.steps import skew_angle

    page = np.full((80, 240), 255, dtype=np.uint8)
    page[36:44, 20:220] = 150  # faint ink: the threshold must be taken on the image it is applied to
    tilted = cv2.warpAffine(page, cv2.getRotationMatrix2D((120, 40), 3.0, 1.0), (240, 80), borderValue=255)
    assert skew_angle(255 - tilted) == pytest.approx(skew_angle(tilted), abs=0.01)
