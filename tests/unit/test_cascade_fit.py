"""Fitting a cascade on readings whose right answers are known: the threshold keeps the score within the
margin of the full vote, the cheapest first stage wins, and a cascade that saves nothing is not chosen."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engines.base import CharCandidate, CharResult
from ensemble.cascade import Cascade
from ensemble.kinds import KindVoting
from evaluation.cascade import answers_at, crops_of, fit_kind_cascade, fit_threshold, measure
from evaluation.fitting import kind_score
from evaluation.manifest import Item
from evaluation.readings import Reading

VOTING = KindVoting({"cheap": 1.0, "dear": 2.0}, "confidence")


def _item(rng: random.Random, index: int) -> Reading:
    """``cheap`` is right and sure 70% of the time, else wrong and unsure; ``dear`` is always right."""
    truth = rng.choice("abcdefghij")
    sure = rng.random() < 0.7
    cheap = truth if sure else rng.choice("klmnop")
    chars = {
        "cheap": CharResult("cheap", "v", (CharCandidate(cheap, 0.95 if sure else rng.uniform(0.2, 0.6)),)),
        "dear": CharResult("dear", "v", (CharCandidate(truth, 0.9),)),
    }
    reading = Reading(Item(Path(f"c{index}.png"), "char", truth, {"fit_kind": "char"}), chars=chars)
    reading.engine_ms = {"cheap": 1.0, "dear": 20.0}
    return reading


@pytest.fixture(scope="module")
def readings() -> list[Reading]:
    rng = random.Random(3)
    return [_item(rng, i) for i in range(300)]


def test_the_threshold_accepts_only_what_keeps_the_full_votes_score(readings: list[Reading]) -> None:
    crops = crops_of(readings, VOTING, Cascade({"cheap": 1.0}, 1.0))
    threshold, sent_on = fit_threshold(readings, crops, margin=0.0)
    full = kind_score(readings, answers_at(readings, crops, None))
    cascaded = kind_score(readings, answers_at(readings, crops, threshold))
    assert full == 1.0 and cascaded == 1.0
    # The sure 70% are accepted (score 0.95); the unsure ones (at most 0.6) go on.
    assert threshold == pytest.approx(0.95)
    assert sent_on == pytest.approx(sum(c.score < 0.95 for c in crops) / len(crops))
    assert 0.2 < sent_on < 0.4


def test_a_looser_margin_accepts_more(readings: list[Reading]) -> None:
    crops = crops_of(readings, VOTING, Cascade({"cheap": 1.0}, 1.0))
    strict = fit_threshold(readings, crops, margin=0.0)
    loose = fit_threshold(readings, crops, margin=0.2)
    assert loose[0] < strict[0] and loose[1] < strict[1]
    assert kind_score(readings, answers_at(readings, crops, loose[0])) >= 1.0 - 0.2


def test_the_cheapest_first_stage_within_the_margin_is_chosen_and_measured(readings: list[Reading]) -> None:
    fit, check = readings[:200], readings[200:]
    fitted = fit_kind_cascade(fit, check, VOTING, margin=0.0)
    assert fitted.cascade is not None and set(fitted.cascade.first) == {"cheap"}
    assert fitted.record["expected_ms"] < fitted.record["full_ms"]
    kept = fitted.record["kept_apart"]
    assert kept["items"] == 100 and kept["full"] == 1.0 and kept["cascade"] == 1.0
    assert measure(check, VOTING, fitted.cascade)["sent_on"] == kept["sent_on"]


def test_a_first_stage_that_sends_everything_on_loses_to_the_engine_that_decides(readings: list[Reading]) -> None:
    # A cheap engine that is never sure (and always wrong) saves nothing: every crop would go on. The
    # engine that decides every vote, alone first, answers everything and never needs the cheap one.
    unsure = []
    for reading in readings[:100]:
        chars = dict(reading.chars)
        chars["cheap"] = CharResult("cheap", "v", (CharCandidate("z", 0.3),))
        copy = Reading(reading.item, chars=chars)
        copy.engine_ms = {"cheap": 1.0, "dear": 20.0}
        unsure.append(copy)
    fitted = fit_kind_cascade(unsure, [], VOTING, margin=0.0)
    tried = {tuple(entry["first"]): entry for entry in fitted.record["tried"]}
    assert tried[("cheap",)]["sent_on"] == 1.0
    assert fitted.cascade is not None and fitted.record["chosen"] == ["dear"]
    assert fitted.record["expected_ms"] == pytest.approx(20.0)


def test_no_cascade_when_none_saves_time() -> None:
    # One voting engine and nothing cheaper: there is no first stage that leaves a later one.
    rng = random.Random(5)
    alone = KindVoting({"dear": 1.0}, "confidence")
    readings = []
    for index in range(40):
        reading = _item(rng, index)
        reading.chars.pop("cheap")
        reading.engine_ms = {"dear": 20.0}
        readings.append(reading)
    fitted = fit_kind_cascade(readings, [], alone, margin=0.0)
    assert fitted.cascade is None and fitted.record["chosen"] is None
