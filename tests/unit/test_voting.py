"""Character and text (ROVER) voting: hand-made cases whose right answer is known."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from engines.base import CharCandidate, CharResult, TextResult
from ensemble.voting import METHODS, Method, vote_chars, vote_text


def chars(engine: str, *candidates: tuple[str, float]) -> CharResult:
    """A character reading with ranked ``(char, confidence)`` alternatives."""
    ranked = tuple(CharCandidate(char, conf) for char, conf in candidates)
    return CharResult(engine=engine, model_version="test", candidates=ranked)


def text(engine: str, reading: str, confidence: float = 0.9) -> TextResult:
    """A text reading with the same confidence on every character."""
    confidences = tuple(confidence for _ in reading)
    return TextResult(engine, "test", reading, char_confidences=confidences)


# --- characters ---------------------------------------------------------------------------


def test_majority_counts_top_ones() -> None:
    results = [chars("a", ("x", 0.8)), chars("b", ("x", 0.6)), chars("c", ("y", 0.9))]
    vote = vote_chars(results, {}, "majority")
    assert vote.character == "x"
    assert vote.confidence == pytest.approx(2 / 3 * 0.7)
    assert [char for char, _ in vote.top] == ["x", "y"]
    assert [score for _, score in vote.top] == pytest.approx([2 / 3, 1 / 3])
    assert vote.agreement is False
    assert vote.engines == ("a", "b", "c")
    assert vote.method == "majority"


def test_weighted_heavy_engine_beats_the_majority() -> None:
    results = [
        chars("a", ("x", 0.8)),
        chars("b", ("x", 0.8)),
        chars("heavy", ("y", 0.6)),
    ]
    weights = {"a": 1.0, "b": 1.0, "heavy": 3.0}
    assert vote_chars(results, weights, "majority").character == "x"
    vote = vote_chars(results, weights, "weighted")
    assert vote.character == "y"
    assert vote.confidence == pytest.approx(3 / 5 * 0.6)


def test_confidence_voting_counts_second_choices() -> None:
    results = [
        chars("a", ("x", 0.50), ("o", 0.45)),
        chars("b", ("x", 0.50), ("o", 0.45)),
        chars("c", ("o", 0.90), ("x", 0.05)),
    ]
    assert vote_chars(results, {}, "majority").character == "x"
    vote = vote_chars(results, {}, "confidence")
    assert vote.character == "o"
    assert vote.confidence == pytest.approx(1.8 / 3)
    assert [char for char, _ in vote.top] == ["o", "x"]
    assert sum(score for _, score in vote.top) == pytest.approx(1.0)


def test_confidence_winner_is_divided_by_voting_weight() -> None:
    results = [chars("a", ("x", 0.5)), chars("b", ("x", 1.0))]
    vote = vote_chars(results, {"a": 1.0, "b": 3.0}, "confidence")
    assert vote.confidence == pytest.approx((0.5 + 3.0) / 4.0)
    assert vote.agreement is True


def test_missing_engine_weight_defaults_to_one() -> None:
    results = [chars("light", ("x", 0.9)), chars("unlisted", ("y", 0.9))]
    assert vote_chars(results, {"light": 0.5}, "weighted").character == "y"


@pytest.mark.parametrize(
    ("results", "weights", "method", "expected"),
    [
        (
            [chars("a", ("x", 0.5)), chars("b", ("y", 0.9)), chars("c", ("z", 0.7))],
            {},
            "majority",
            "y",
        ),
        (
            [chars("e1", ("x", 0.8)), chars("e2", ("y", 0.8)), chars("e3", ("z", 0.8))],
            {"e1": 0.5, "e2": 2.0, "e3": 1.0},
            "majority",
            "y",
        ),
        (
            [
                chars("b_eng", ("x", 0.8)),
                chars("a_eng", ("y", 0.8)),
                chars("c_eng", ("z", 0.8)),
            ],
            {},
            "weighted",
            "y",
        ),
        ([chars("only", ("q", 0.4), ("p", 0.4))], {}, "confidence", "p"),
    ],
    ids=["summed-confidence", "engine-weight", "engine-name", "char"],
)
def test_three_way_ties_are_broken_deterministically(
    results: list[CharResult], weights: dict[str, float], method: Method, expected: str
) -> None:
    for permutation in itertools.permutations(results):
        assert vote_chars(permutation, weights, method).character == expected


def test_engine_that_saw_nothing_does_not_vote() -> None:
    vote = vote_chars([chars("blind"), chars("a", ("x", 0.7))], {}, "weighted")
    assert (vote.character, vote.engines, vote.agreement) == ("x", ("a",), True)
    assert vote.confidence == pytest.approx(0.7)


@pytest.mark.parametrize("method", METHODS)
def test_no_engine_saw_anything(method: Method) -> None:
    vote = vote_chars([chars("a"), chars("b")], {}, method)
    assert (vote.character, vote.confidence, vote.top, vote.engines) == (
        "",
        0.0,
        (),
        (),
    )


def test_top_is_truncated_and_ordered() -> None:
    candidates = [(c, 0.1 * (i + 1)) for i, c in enumerate("abcdefg")]
    vote = vote_chars([chars("a", *candidates)], {}, "confidence", top_k=3)
    assert [char for char, _ in vote.top] == ["g", "f", "e"]
    assert sum(score for _, score in vote.top) <= 1.0


@pytest.mark.parametrize("method", METHODS)
def test_char_scores_stay_in_range_on_random_input(method: Method) -> None:
    rng = random.Random(7)
    for _ in range(200):
        results = [
            chars(
                f"e{n}",
                *[(rng.choice("abc"), rng.random()) for _ in range(rng.randint(0, 3))],
            )
            for n in range(rng.randint(1, 4))
        ]
        weights = {f"e{n}": rng.choice([0.0, 0.5, 1.0, 2.0]) for n in range(4)}
        vote = vote_chars(results, weights, method)
        assert 0.0 <= vote.confidence <= 1.0
        assert sum(score for _, score in vote.top) <= 1.0 + 1e-9
        scores = [score for _, score in vote.top]
        assert scores == sorted(scores, reverse=True)


def test_char_vote_to_dict_is_json_ready() -> None:
    vote = vote_chars([chars("a", ("x", 0.7), ("y", 0.2))], {}, "confidence")
    data = json.loads(json.dumps(vote.to_dict()))
    assert data["character"] == "x"
    assert data["top"][0][0] == "x"
    assert data["engines"] == ["a"]
    assert data["method"] == "confidence"


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        (["hello", "hello", "hallo"], "hello"),
        (["helo", "hello", "hello"], "hello"),
        (["hello", "helo", "helo"], "helo"),
        (["hello", "hello", ""], "hello"),
        (["hello", "hello", "hello"], "hello"),
        (["hello"], "hello"),
    ],
    ids=["substitution", "insertion", "deletion", "one-empty", "identical", "single"],
)
def test_text_vote_recovers_the_majority_reading(readings: list[str], expected: str, method: Method) -> None:
    results = [text(f"e{n}", reading) for n, reading in enumerate(readings)]
    vote = vote_text(results, {}, method)
    assert vote.text == expected
    assert len(vote.char_confidences) == len(vote.text)
    assert vote.engines == tuple(f"e{n}" for n in range(len(readings)))


@pytest.mark.parametrize("method", METHODS)
def test_all_empty_readings(method: Method) -> None:
    vote = vote_text([text("a", ""), text("b", "")], {}, method)
    assert (vote.text, vote.confidence, vote.char_confidences) == ("", 0.0, ())
    assert vote.agreement == 1.0


def test_identical_readings_agree_fully() -> None:
    vote = vote_text([text("a", "abc", 0.8), text("b", "abc", 0.8)], {}, "majority")
    assert vote.agreement == 1.0
    assert vote.confidence == pytest.approx(0.8)


def test_agreement_is_the_share_of_unanimous_slots() -> None:
    vote = vote_text([text("a", "hello"), text("b", "hallo")], {}, "majority")
    assert vote.agreement == pytest.approx(0.8)
    empty_one = vote_text([text("a", "hello"), text("b", "")], {}, "majority")
    assert empty_one.agreement == 0.0


def test_text_confidence_is_the_mean_of_kept_chars() -> None:
    results = [
        text("a", "hello", 0.9),
        text("b", "hello", 0.9),
        text("c", "hallo", 0.6),
    ]
    vote = vote_text(results, {}, "majority")
    assert vote.char_confidences == pytest.approx((0.8, 0.6, 0.8, 0.8, 0.8))
    assert vote.confidence == pytest.approx(sum(vote.char_confidences) / 5)


def test_weighted_heavy_engine_beats_the_majority_in_text() -> None:
    results = [text("a", "hello"), text("b", "hello"), text("heavy", "hallo")]
    weights = {"a": 1.0, "b": 1.0, "heavy": 3.0}
    assert vote_text(results, weights, "majority").text == "hello"
    assert vote_text(results, weights, "weighted").text == "hallo"


def test_confident_minority_wins_confidence_voting() -> None:
    results = [
        text("a", "hello", 0.3),
        text("b", "hello", 0.3),
        text("c", "hallo", 0.95),
    ]
    assert vote_text(results, {}, "majority").text == "hello"
    vote = vote_text(results, {}, "confidence")
    assert vote.text == "hallo"
    assert vote.char_confidences[1] == pytest.approx(0.95 / 3)


def test_text_three_way_disagreement_tie() -> None:
    results = [text("a", "cat"), text("b", "cut"), text("c", "cot")]
    for permutation in itertools.permutations(results):
        assert vote_text(permutation, {}, "majority").text == "cat"
        assert vote_text(permutation, {"c": 2.0}, "majority").text == "cot"


@pytest.mark.parametrize("method", METHODS)
def test_text_vote_ignores_input_order(method: Method) -> None:
    results = [
        text("a", "hello", 0.9),
        text("b", "hello", 0.8),
        text("c", "hallo", 0.7),
        text("d", "helo", 0.6),
    ]
    votes = [vote_text(p, {"a": 1.2}, method) for p in itertools.permutations(results)]
    first = votes[0]
    assert first.text == "hello"
    for vote in votes[1:]:
        assert (vote.text, vote.char_confidences, vote.agreement) == (
            first.text,
            first.char_confidences,
            first.agreement,
        )


def test_text_vote_to_dict_is_json_ready() -> None:
    vote = vote_text([text("a", "hi", 0.5)], {}, "weighted")
    data = json.loads(json.dumps(vote.to_dict()))
    assert data == {
        "text": "hi",
        "confidence": 0.5,
        "char_confidences": [0.5, 0.5],
        "method": "weighted",
        "agreement": 1.0,
        "engines": ["a"],
        "selected": None,
    }


# --- errors -------------------------------------------------------------------------------


def test_empty_results_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        vote_chars([], {}, "majority")
    with pytest.raises(ValueError, match="empty"):
        vote_text([], {}, "majority")


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown voting method"):
        vote_chars([chars("a", ("x", 1.0))], {}, "loudest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown voting method"):
        vote_text([text("a", "x")], {}, "loudest")  # type: ignore[arg-type]


def test_negative_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="weight"):
        vote_chars([chars("a", ("x", 1.0))], {"a": -1.0}, "weighted")
