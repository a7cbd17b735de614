"""The cascade and the engines a job runs: silent engines are not queued, cheap engines answer the crops
they are sure of, the rest go on, and results equal the full vote's wherever all engines agree."""

from __future__ import annotations

from typing import Any

import pytest

from engines.base import CharCandidate, CharResult, TextResult
from ensemble.cascade import Cascade, accepts, char_score, first_char_vote, first_text_vote, text_score
from ensemble.kinds import KindVoting
from jobs.options import JobOptions
from jobs.planning import stages, without_silent_engines
from jobs.results import build_result, calibrated, cascade_decisions, crop_readings

LINES = KindVoting({"fast": 1.0, "slow": 1.0}, "select", cascade=Cascade({"fast": 1.0}, 0.8))
CHARS = KindVoting({"cnn": 1.5, "tess": 0.5, "pp": 1.0, "silent": 0.0}, "confidence")


def _options(mode: str, engines: tuple[str, ...], voting: KindVoting, **extra: Any) -> JobOptions:
    kind = "char" if mode == "char" else "line"
    return JobOptions(
        mode=mode,  # type: ignore[arg-type]
        engines=engines,
        method=voting.method,
        weights=dict(voting.weights),
        kinds={kind: voting.to_dict()},
        **extra,
    )


def _text(engine: str, text: str, confidence: float) -> TextResult:
    return TextResult(engine, "v1", text, tuple([confidence] * len(text)))


def _lines_output(engine: str, readings: list[tuple[str, float]], indexes: list[int] | None = None) -> dict:
    output: dict[str, Any] = {
        "engine": engine,
        "ok": True,
        "results": [_text(engine, text, confidence).to_dict() for text, confidence in readings],
    }
    return {**output, "indexes": indexes} if indexes is not None else output


# --- which engines run --------------------------------------------------------------------------------


def test_an_engine_with_weight_0_for_the_jobs_kind_is_not_run_and_the_result_says_why() -> None:
    options = without_silent_engines(_options("char", ("cnn", "tess", "pp", "silent"), CHARS), named=False)
    assert options.engines == ("cnn", "tess", "pp")
    assert "weight 0 for char jobs" in options.skipped_engines["silent"]


def test_an_engine_the_client_named_runs_whatever_its_weight() -> None:
    options = without_silent_engines(_options("char", ("cnn", "silent"), CHARS), named=True)
    assert options.engines == ("cnn", "silent") and options.skipped_engines == {}


def test_majority_counts_every_engine_so_none_is_left_out() -> None:
    majority = KindVoting({"a": 1.0, "b": 0.0}, "majority")
    assert without_silent_engines(_options("line", ("a", "b"), majority), named=False).engines == ("a", "b")


def test_when_every_weight_is_0_every_engine_still_runs() -> None:
    zero = KindVoting({"a": 0.0, "b": 0.0}, "weighted")
    assert without_silent_engines(_options("line", ("a", "b"), zero), named=False).engines == ("a", "b")


def test_a_first_stage_engine_runs_even_with_weight_0_in_the_full_vote() -> None:
    voting = KindVoting({"tess": 0.0, "pp": 1.0}, "select", cascade=Cascade({"tess": 0.0}, 0.9))
    options = without_silent_engines(_options("line", ("tess", "pp"), voting), named=False)
    assert options.engines == ("tess", "pp")
    assert stages(options).first == ("tess",) and stages(options).later == ("pp",)
    off = without_silent_engines(_options("line", ("tess", "pp"), voting, cascade=False), named=False)
    assert off.engines == ("pp",) and stages(off).later == ()


def test_a_weight_0_engine_has_no_say_so_leaving_it_out_changes_nothing() -> None:
    votes = [CharResult("cnn", "v", (CharCandidate("a", 0.5),)), CharResult("pp", "v", (CharCandidate("b", 0.5),))]
    silent = CharResult("silent", "v", (CharCandidate("b", 1.0),))
    with_it = build_result([_char_out(r) for r in [*votes, silent]], _options("char", ("cnn", "pp", "silent"), CHARS))
    without = build_result([_char_out(r) for r in votes], _options("char", ("cnn", "pp"), CHARS))
    assert with_it is not None and without is not None
    assert with_it["character"] == without["character"] == "a"
    assert with_it["confidence"] == without["confidence"]


def _char_out(result: CharResult) -> dict:
    return {"engine": result.engine, "ok": True, "results": [result.to_dict()]}


# --- the cascade's decisions --------------------------------------------------------------------------


def test_a_cascade_without_a_later_engine_or_a_first_one_is_no_cascade() -> None:
    cascade = Cascade({"fast": 1.0}, 0.5)
    assert cascade.plan(["fast"]) is None and cascade.plan(["slow"]) is None
    assert cascade.plan(["slow", "fast"]) == (["fast"], ["slow"])


@pytest.mark.parametrize("bad", [{"first": {}, "accept_above": 0.5}, {"first": {"a": 1}, "accept_above": 1.5}])
def test_invalid_cascades_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        Cascade.from_dict(bad)


def test_scores_are_the_first_stages_confidence_and_0_for_nothing_read() -> None:
    cascade = Cascade({"cnn": 1.0, "tess": 1.0}, 0.7)
    agree = [CharResult("cnn", "v", (CharCandidate("x", 0.9),)), CharResult("tess", "v", (CharCandidate("x", 0.8),))]
    split = [CharResult("cnn", "v", (CharCandidate("x", 0.9),)), CharResult("tess", "v", (CharCandidate("y", 0.8),))]
    assert char_score(first_char_vote(agree, cascade, "confidence")) == pytest.approx(0.85)
    assert char_score(first_char_vote(split, cascade, "confidence")) == pytest.approx(0.45)
    assert char_score(first_char_vote([], cascade, "confidence")) == 0.0
    line = Cascade({"fast": 1.0}, 0.5)
    assert text_score(first_text_vote([_text("fast", "ab", 0.9)], line, "select")) == pytest.approx(0.81)
    assert text_score(first_text_vote([_text("fast", "", 0.9)], line, "select")) == 0.0
    assert accepts(line, 0.5) and not accepts(line, 0.4999)


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8, 0.95])
def test_the_cascade_sends_on_exactly_the_lines_below_the_threshold(threshold: float) -> None:
    confidences = [0.99, 0.9, 0.7, 0.5, 0.3, 0.0]
    voting = KindVoting({"fast": 1.0, "slow": 1.0}, "select", cascade=Cascade({"fast": 1.0}, threshold))
    options = _options("page", ("fast", "slow"), voting)
    outputs = [_lines_output("fast", [("line", c) for c in confidences])]
    readings = calibrated(crop_readings(outputs), voting)
    decisions = cascade_decisions(readings, len(confidences), options, set())
    assert decisions is not None
    sent_on = [index for index, (_, accepted) in enumerate(decisions) if not accepted]
    assert sent_on == [i for i, c in enumerate(confidences) if c**4 < threshold]


def test_a_failed_first_stage_engine_sends_every_crop_on() -> None:
    options = _options("page", ("fast", "slow"), LINES)
    readings = calibrated(crop_readings([_lines_output("fast", [("sure", 1.0)])]), LINES)
    decisions = cascade_decisions(readings, 1, options, {"fast"})
    assert decisions == [(1.0, False)]


# --- results with and without the cascade -------------------------------------------------------------

BOXES = {"engine": "fast", "boxes": [[0, 0, 100, 20], [0, 30, 100, 50], [0, 60, 100, 80]], "error": None}


def test_accepted_lines_are_the_first_stages_and_the_others_are_voted_by_all() -> None:
    options = _options("page", ("fast", "slow"), LINES)
    first = _lines_output("fast", [("sure line", 0.99), ("unsure", 0.5), ("sure too", 0.99)])
    later = _lines_output("slow", [("better", 0.95)], indexes=[1])
    result = build_result([first, later], options, BOXES, [100, 80])
    assert result is not None
    assert [line["text"] for line in result["lines"]] == ["sure line", "better", "sure too"]
    assert [line["cascade"]["accepted"] for line in result["lines"]] == [True, False, True]
    assert result["lines"][1]["cascade"]["engines"] == ["fast", "slow"]
    assert result["lines"][0]["cascade"]["engines"] == ["fast"]
    assert result["cascade"]["escalated"] == 1 and result["cascade"]["first"] == ["fast"]


def test_where_all_engines_agree_the_cascade_gives_the_full_votes_result() -> None:
    texts = [("same words", 0.99), ("doubtful", 0.6), ("agreed", 0.7)]
    first, everything = _lines_output("fast", texts), _lines_output("slow", texts)
    full = build_result([first, everything], _options("page", ("fast", "slow"), LINES, cascade=False), BOXES, [100, 80])
    later = _lines_output("slow", texts[1:], indexes=[1, 2])
    cascaded = build_result([first, later], _options("page", ("fast", "slow"), LINES), BOXES, [100, 80])
    assert full is not None and cascaded is not None
    assert full["cascade"] is None and cascaded["cascade"]["escalated"] == 2
    assert cascaded["text"] == full["text"]
    assert [line["text"] for line in cascaded["lines"]] == [line["text"] for line in full["lines"]]


def test_a_char_job_accepted_by_the_first_stage_votes_with_its_engines_only() -> None:
    voting = KindVoting({"cnn": 1.5, "tess": 0.5, "pp": 1.0}, "confidence", cascade=Cascade({"cnn": 1.5}, 0.8))
    sure = _char_out(CharResult("cnn", "v", (CharCandidate("Q", 0.95),)))
    result = build_result([sure], _options("char", ("cnn", "pp"), voting))
    assert result is not None
    assert result["character"] == "Q" and result["char_cascade"]["accepted"] is True
    assert result["cascade"]["escalated"] == 0
