"""Per-kind fitting, cross-validation and the guard, on generated readings whose right answers are known."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from engines.base import CharCandidate, CharResult, TextResult
from ensemble import vote_text
from evaluation.fitting import (
    KindReport,
    bootstrap_ci,
    cross_validate,
    fit_kind,
    guard,
    kind_groups,
    kind_score,
)
from evaluation.manifest import Item, write_manifest
from evaluation.readings import Reading, load_readings, save_readings
from evaluation.scoring import Answer, engine_answer

ENGINES = ["charstar", "liner", "plain"]
WORDS = ["river", "garden", "window", "market", "letter", "quarter", "doctor", "bridge", "yellow", "silver"]


def _garble(text: str, rng: random.Random, share: float) -> str:
    return "".join(rng.choice(string.ascii_lowercase) if rng.random() < share else c for c in text)


def char_item(rng: random.Random, index: int) -> Reading:
    """charstar is right 95% of the time; the others 55%."""
    truth = rng.choice(string.ascii_letters + string.digits)
    chars = {}
    for engine, right in (("charstar", 0.95), ("liner", 0.55), ("plain", 0.55)):
        answer = truth if rng.random() < right else rng.choice(string.ascii_letters)
        chars[engine] = CharResult(engine, "v", (CharCandidate(answer, rng.uniform(0.5, 1.0)),))
    return Reading(Item(Path(f"c{index}.png"), "char", truth, {"fit_kind": "char"}), chars=chars)


def line_item(rng: random.Random, index: int) -> Reading:
    """liner reads lines well, plain passably, charstar is useless on them (and sure of itself)."""
    truth = " ".join(rng.choice(WORDS) for _ in range(4))
    readings = {
        "liner": _garble(truth, rng, 0.02),
        "plain": _garble(truth, rng, 0.15),
        "charstar": _garble(truth, rng, 0.9),
    }
    confidence = {"liner": 0.8, "plain": 0.7, "charstar": 0.99}
    line = {e: TextResult(e, "v", t, tuple([confidence[e]] * len(t))) for e, t in readings.items()}
    return Reading(Item(Path(f"l{index}.png"), "line", truth, {"fit_kind": "printed"}), lines=[line])


@pytest.fixture(scope="module")
def readings() -> list[Reading]:
    rng = random.Random(7)
    return [char_item(rng, i) for i in range(80)] + [line_item(rng, i) for i in range(60)]


def test_one_engine_gets_weight_on_characters_and_none_on_lines(readings: list[Reading]) -> None:
    groups = kind_groups(readings)
    chars = fit_kind(groups["char"], ENGINES).voting
    lines = fit_kind(groups["line"], ENGINES).voting
    assert chars.weights["charstar"] >= max(chars.weights["liner"], chars.weights["plain"])
    assert chars.weights["charstar"] > 0
    assert lines.weights["charstar"] == pytest.approx(0.0, abs=0.25)
    assert lines.weights["liner"] > 0


def test_lines_are_also_fitted_as_their_content_kind(readings: list[Reading]) -> None:
    groups = kind_groups(readings)
    assert sorted(groups) == ["char", "line", "printed"]
    assert len(groups["line"]) == len(groups["printed"]) == 60


def test_cross_validated_answers_beat_the_useless_engine_and_match_the_best(readings: list[Reading]) -> None:
    lines = kind_groups(readings)["line"]
    answers, chosen = cross_validate(lines, ENGINES, folds=5)
    assert len(answers) == len(lines) and len(chosen) == 5
    best = kind_score(lines, [engine_answer(r, "liner") for r in lines])
    assert kind_score(lines, answers) >= best - 0.01
    assert kind_score(lines, answers) > kind_score(lines, [engine_answer(r, "charstar") for r in lines]) + 0.5


def test_bootstrap_interval_holds_the_score_and_a_paired_difference_can_be_negative(readings: list[Reading]) -> None:
    lines = kind_groups(readings)["line"]
    good = [engine_answer(r, "liner") for r in lines]
    bad = [engine_answer(r, "plain") for r in lines]
    low, high = bootstrap_ci(lines, good)
    assert low <= kind_score(lines, good) <= high
    low, high = bootstrap_ci(lines, bad, good)
    assert high < 0  # plain is worse than liner on every resample


def _report(kind: str, ensemble: float, best: float, prior: float) -> KindReport:
    return KindReport(
        kind, 100, True, scores={"ensemble": ensemble, "liner": best, "prior": prior}, best_engine="liner"
    )


def test_guard_passes_a_fit_that_wins_somewhere_and_loses_nowhere() -> None:
    verdict = guard([_report("char", 0.95, 0.94, 0.90), _report("line", 0.90, 0.90, 0.85)], ["prior"])
    assert verdict.passed and verdict.reasons == []


@pytest.mark.parametrize(
    ("reports", "reason"),
    [
        ([_report("char", 0.93, 0.94, 0.90), _report("line", 0.95, 0.90, 0.85)], "char: ensemble 0.9300 < best engine"),
        ([_report("char", 0.95, 0.94, 0.96)], "char: ensemble 0.9500 < prior"),
        ([_report("char", 0.94, 0.94, 0.90)], "no gain over the best single engines"),
        ([KindReport("page", 3, False)], "no kind had enough items"),
    ],
)
def test_guard_refuses_a_fit_that_loses(reports: list[KindReport], reason: str) -> None:
    verdict = guard(reports, ["prior"])
    assert not verdict.passed
    assert any(reason in r for r in verdict.reasons), verdict.reasons


def _saved_set(tmp_path: Path, readings: list[Reading]) -> tuple[Path, Path]:
    """A manifest over real (blank) image files and the readings saved for them."""
    items = []
    placed = []
    for index, reading in enumerate(readings):
        path = tmp_path / f"item{index}.png"
        Image.new("L", (8, 8), 255).save(path)
        item = Item(path, reading.item.kind, reading.item.truth, reading.item.groups)
        items.append(item)
        placed.append(Reading(item, reading.chars, reading.lines))
    write_manifest(tmp_path / "manifest.tsv", items)
    save_readings(tmp_path / "readings.jsonl", placed)
    return tmp_path / "manifest.tsv", tmp_path / "readings.jsonl"


def test_readings_round_trip_through_a_file(tmp_path: Path, readings: list[Reading]) -> None:
    save_readings(tmp_path / "r.jsonl", readings[:3] + readings[-3:])
    loaded = load_readings([tmp_path / "r.jsonl"])
    assert [r.item.truth for r in loaded] == [r.item.truth for r in readings[:3] + readings[-3:]]
    assert loaded[0].chars == readings[0].chars and loaded[-1].lines == readings[-1].lines


def test_a_fit_that_cannot_beat_its_best_engine_does_not_become_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evaluation.fit_command import calibrate_command

    # One engine is always right, the others always wrong: no vote can gain on it, so the guard refuses.
    rng = random.Random(3)
    readings = []
    for index in range(40):
        truth = " ".join(rng.choice(WORDS) for _ in range(3))
        line = {
            "oracle": TextResult("oracle", "v", truth, tuple([0.6] * len(truth))),
            "noise": TextResult("noise", "v", _garble(truth, rng, 0.5), tuple([0.9] * len(truth))),
        }
        readings.append(Reading(Item(Path(f"x{index}.png"), "line", truth, {"fit_kind": "printed"}), lines=[line]))
    manifest, saved = _saved_set(tmp_path, readings)
    presets = tmp_path / "presets.d"
    monkeypatch.setenv("OCR_PRESETS_DIR", str(presets))
    monkeypatch.setenv("OCR_DEFAULT_PRESET", "general")
    result = CliRunner().invoke(
        calibrate_command, [str(manifest), "--readings", str(saved), "--name", "general", "--folds", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "guard: FAILED" in result.output and "no gain" in result.output
    assert not (presets / "general.json").exists()
    written = json.loads((presets / "general-candidate.json").read_text())
    assert written["fitted"]["default_eligible"] is False
    assert str(tmp_path) not in json.dumps(written)  # the fit record holds no machine paths
    # The fit still says what it found: one engine alone.
    assert written["kinds"]["line"]["weights"]["noise"] == 0.0


def test_answers_of_an_engine_that_failed_are_empty() -> None:
    reading = Reading(Item(Path("x.png"), "line", "abc"), lines=[{}])
    assert engine_answer(reading, "missing") == Answer("", 0.0)


def test_isotonic_maps_are_monotone_smoothed_and_round_trip() -> None:
    from ensemble.calibration import IsotonicCalibration, calibration_from_dict
    from evaluation.calibrate import fit_isotonic

    rng = random.Random(0)
    confidences = [rng.random() for _ in range(400)]
    correct = [rng.random() < c for c in confidences]  # right as often as it says
    mapping = fit_isotonic(confidences, correct)
    points = [mapping(x / 20) for x in range(21)]
    assert points == sorted(points)
    assert 0.0 < points[0] < 0.3 and 0.7 < points[-1] < 1.0  # never a certainty from a finite sample
    assert calibration_from_dict(mapping.to_dict()) == mapping
    with pytest.raises(ValueError, match="non-decreasing"):
        IsotonicCalibration.from_dict({"kind": "isotonic", "thresholds": [0.0, 0.5], "values": [0.9, 0.1]})


def test_the_line_score_a_map_reads_is_the_joint_confidence() -> None:
    from ensemble.voting import joint_confidence
    from evaluation.fitting import map_score

    assert joint_confidence([0.5, 0.5]) == pytest.approx(0.25)
    assert joint_confidence([]) == 0.0
    vote = vote_text([TextResult("a", "v", "ab", (0.9, 0.8))], {}, "select")
    assert map_score(Answer("ab", 0.85), [vote]) == pytest.approx(0.72)
    assert map_score(Answer("x", 0.6), []) == 0.6  # a character: its vote's confidence
