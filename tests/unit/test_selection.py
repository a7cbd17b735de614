"""Hypothesis selection (minimum Bayes risk) and disagreement spans on hand-made readings."""

from __future__ import annotations

import itertools

import pytest

from engines.base import TextResult
from ensemble import vote_text
from ensemble.disagreement import disagreements
from ensemble.selection import select_text


def text(engine: str, reading: str, confidence: float = 0.9) -> TextResult:
    """A text reading with the same confidence on every character."""
    return TextResult(engine, "test", reading, tuple(confidence for _ in reading))


def test_selection_picks_the_reading_the_others_agree_with() -> None:
    # The most confident engine is alone in its reading; three others agree with each other.
    results = [
        text("cnn", "0live", 0.99),
        text("paddleocr", "olive", 0.9),
        text("tesseract", "olive", 0.8),
        text("easyocr", "olive.", 0.7),
    ]
    chosen = select_text(results, {})
    assert chosen.text == "olive"
    assert chosen.engine in ("paddleocr", "tesseract")


def test_selection_never_splices_characters_of_several_readings() -> None:
    # A character vote with these weights would take 'Fu' from one engine and 'ure' from another.
    results = [text("a", "Future"), text("b", "Fuure"), text("c", "Futur")]
    assert select_text(results, {}).text in {"Future", "Fuure", "Futur"}


def test_a_weight_of_zero_neither_backs_nor_is_chosen() -> None:
    results = [text("silent", "wrong", 0.99), text("x", "right", 0.5)]
    chosen = select_text(results, {"silent": 0.0, "x": 1.0})
    assert (chosen.engine, chosen.text) == ("x", "right")


def test_two_engines_the_stronger_backing_wins() -> None:
    results = [text("a", "cat", 0.6), text("b", "cut", 0.9)]
    assert select_text(results, {"a": 1.0, "b": 1.0}).text == "cut"
    assert select_text(results, {"a": 3.0, "b": 1.0}).text == "cat"


def test_ties_are_broken_the_same_way_whatever_the_input_order() -> None:
    results = [text("b", "one"), text("a", "two"), text("c", "six")]  # equal weights and confidences
    chosen = {select_text(list(order), {}).engine for order in itertools.permutations(results)}
    assert chosen == {"a"}  # equal risk and backing: the first engine by name


def test_select_as_a_voting_method_reports_the_chosen_engine() -> None:
    vote = vote_text([text("a", "olive"), text("b", "olive"), text("c", "0live")], {}, "select")
    assert (vote.text, vote.method, vote.selected) == ("olive", "select", "a")
    assert vote.agreement == pytest.approx(2 / 3)
    assert vote.char_confidences == (0.9,) * 5


def test_selection_refuses_no_results_and_negative_weights() -> None:
    with pytest.raises(ValueError, match="no results"):
        select_text([], {})
    with pytest.raises(ValueError, match="weight"):
        vote_text([text("a", "x")], {"a": -1.0}, "select")


def test_disagreement_spans_name_what_each_engine_read() -> None:
    spans = disagreements("Future works", {"a": "Fuure works", "b": "Future Works", "c": "Future works"})
    assert [(s.start, s.end, s.text) for s in spans] == [(2, 3, "t"), (7, 8, "w")]
    assert spans[0].readings == {"a": "", "b": "t", "c": "t"}
    assert spans[1].readings == {"a": "w", "b": "W", "c": "w"}


def test_no_spans_when_everyone_agrees_or_nothing_was_read() -> None:
    assert disagreements("same", {"a": "same", "b": "same"}) == []
    assert disagreements("", {"a": "x"}) == []


def test_an_insertion_marks_both_neighbours() -> None:
    (span,) = disagreements("ab", {"a": "aXb"})
    assert (span.start, span.end, span.readings["a"]) == (0, 2, "aXb")
