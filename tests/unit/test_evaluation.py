"""Evaluation metrics, manifests and calibration on hand-made cases."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from engines.base import CharCandidate, CharResult, TextResult
from ensemble.calibration import PlattCalibration
from ensemble.fitted import FittedPreset, load_fitted_presets, save_fitted_preset
from evaluation.calibrate import confidence_samples, fit_platt, matched_positions
from evaluation.fitting import cross_validate, fit_kind
from evaluation.manifest import Item, ManifestError, escape, load_items, unescape, write_manifest
from evaluation.readings import Reading
from evaluation.scoring import (
    Answer,
    Voting,
    engine_answer,
    expected_calibration_error,
    objective,
    score,
    voted_answer,
)


def _char_reading(truth: str, answers: dict[str, tuple[str, float]]) -> Reading:
    chars = {name: CharResult(name, "v1", (CharCandidate(char, conf),)) for name, (char, conf) in answers.items()}
    return Reading(Item(Path("x.png"), "char", truth), chars=chars)


def _line_reading(truth: str, answers: dict[str, str]) -> Reading:
    line = {name: TextResult(name, "v1", text, tuple([0.9] * len(text))) for name, text in answers.items()}
    return Reading(Item(Path("x.png"), "line", truth), lines=[line])


def test_cer_and_wer_on_a_known_case() -> None:
    readings = [_line_reading("hello world", {}), _line_reading("abcd", {})]
    result = score(readings, [Answer("hallo world", 0.5), Answer("abcd", 0.5)])
    assert result["cer"] == pytest.approx(1 / 15)  # one substitution over 11 + 4 reference characters
    assert result["wer"] == pytest.approx(1 / 3)  # one wrong word of three


def test_char_accuracy_case_sensitive_and_not() -> None:
    readings = [_char_reading("a", {}), _char_reading("B", {}), _char_reading("c", {})]
    result = score(readings, [Answer("a", 1.0), Answer("b", 1.0), Answer("x", 1.0)])
    assert result["char_accuracy"] == pytest.approx(1 / 3)
    assert result["char_accuracy_ci"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("confidences", "correct", "expected"),
    [
        ([0.9] * 10, [True] * 9 + [False], 0.0),  # 90% sure, 90% right
        ([0.9] * 10, [True] * 5 + [False] * 5, 0.4),  # 90% sure, 50% right
        ([0.95] * 5 + [0.15] * 5, [True] * 5 + [False] * 5, 0.1),  # 0.5 x 0.05 + 0.5 x 0.15
        ([], [], 0.0),
    ],
)
def test_expected_calibration_error_on_known_cases(confidences, correct, expected) -> None:
    assert expected_calibration_error(confidences, correct) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["plain", "two\nlines", "tab\there", "back\\slash", "\\n literal"])
def test_escape_round_trip(text: str) -> None:
    assert unescape(escape(text)) == text


def test_manifest_round_trip_with_groups(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    Image.new("L", (10, 10), 255).save(image)
    items = [Item(image, "page", "line one\nline two", {"style": "printed"}), Item(image, "char", "A", {})]
    write_manifest(tmp_path / "m.tsv", items)
    assert load_items(tmp_path / "m.tsv") == items


def test_manifest_errors_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "m.tsv").write_text("file\tkind\tground_truth\nmissing.png\tchar\tA\n")
    with pytest.raises(ManifestError, match=r"m.tsv:2: .*missing.png not found"):
        load_items(tmp_path / "m.tsv")
    (tmp_path / "bad.tsv").write_text("file\tground_truth\n")
    with pytest.raises(ManifestError, match="missing column"):
        load_items(tmp_path / "bad.tsv")


def test_folder_of_labelled_characters(tmp_path: Path) -> None:
    for label in "Ab":
        (tmp_path / label).mkdir()
        Image.new("L", (10, 10), 255).save(tmp_path / label / "1.png")
    items = load_items(tmp_path)
    assert [(i.kind, i.truth) for i in items] == [("char", "A"), ("char", "b")]


def test_matched_positions_marks_correct_characters() -> None:
    assert matched_positions("hallo", "hello") == {0, 2, 3, 4}


def test_platt_fit_lowers_an_overconfident_engine() -> None:
    rng = random.Random(1)
    correct = [rng.random() < 0.5 for _ in range(400)]
    calibration = fit_platt([0.99] * 400, correct)
    assert calibration(0.99) == pytest.approx(sum(correct) / 400, abs=0.05)
    assert fit_platt([0.5] * 5, [True] * 5) == PlattCalibration()  # too little to fit: identity


def _unreliable_set(seed: int, n: int) -> list[Reading]:
    """Three engines: a good one, a mediocre one, and a confident liar (right only 30% of the time)."""
    rng = random.Random(seed)
    readings = []
    for _ in range(n):
        truth = rng.choice("ABCDEFGHJK")
        wrong = lambda: rng.choice([c for c in "ABCDEFGHJK" if c != truth])  # noqa: E731, B023
        good = (truth, rng.uniform(0.6, 0.9)) if rng.random() < 0.8 else (wrong(), rng.uniform(0.3, 0.6))
        fair = (truth, rng.uniform(0.5, 0.8)) if rng.random() < 0.65 else (wrong(), rng.uniform(0.4, 0.7))
        liar = (truth, 0.99) if rng.random() < 0.3 else (wrong(), 0.99)
        readings.append(_char_reading(truth, {"good": good, "fair": fair, "liar": liar}))
    return readings


def test_calibration_improves_held_apart_accuracy_with_an_unreliable_engine() -> None:
    readings = _unreliable_set(seed=7, n=600)
    engines = ["fair", "good", "liar"]
    before = Voting(dict.fromkeys(engines, 1.0), "confidence", {})
    held_apart, _ = cross_validate(readings, engines)  # each item answered by a fit that never saw it
    score_before = objective(readings, [voted_answer(r, before) for r in readings])
    score_after = objective(readings, held_apart)
    best_single = max(objective(readings, [engine_answer(r, e) for r in readings]) for e in engines)
    assert score_after >= score_before + 0.05, (score_before, score_after)
    assert score_after >= best_single - 0.02, (score_after, best_single)
    fitted = fit_kind(readings, engines).voting
    assert fitted.weights["liar"] < fitted.weights["good"]
    assert fitted.calibration["liar"](0.99) < 0.5  # its certainty is mapped to what it is worth


def test_confidence_samples_for_text_align_with_the_truth() -> None:
    reading = _line_reading("hello", {"e": "hallo"})
    confidences, correct = confidence_samples([reading], "e")
    assert confidences == [0.9] * 5
    assert correct == [True, False, True, True, True]


def test_fitted_preset_round_trip(tmp_path: Path) -> None:
    preset = FittedPreset({"a": 1.5, "b": 0.0}, "confidence", {"a": PlattCalibration(1.2, -0.3)}, {"items": 3})
    save_fitted_preset(tmp_path / "mine.json", preset)
    assert load_fitted_presets(tmp_path) == {"mine": preset}
    assert load_fitted_presets(tmp_path / "absent") == {}
