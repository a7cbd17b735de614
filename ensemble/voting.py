"""Combining several engines' readings of one crop into a single answer.

Three rules, the same for single characters and for each slot of a text alignment:

* ``majority``: each engine's top-1 counts 1;
* ``weighted``: each engine's top-1 counts the engine's weight;
* ``confidence``: every alternative an engine gives counts ``weight x confidence`` (for text,
  the one symbol the engine put in the slot, with :data:`~ensemble.alignment.EPSILON` counting
  the engine's empty-entry confidence).

A fourth, ``select``, does not vote per character: for text it picks one engine's whole reading by
minimum Bayes risk (:mod:`ensemble.selection`); for a single character, where a reading is one symbol,
that is each engine's top-1 counting ``weight x confidence``.

An engine missing from ``weights`` has weight 1.0. Under every method but ``majority`` an engine with
weight 0 has no say at all (it neither scores, breaks ties nor shapes an alignment) as long as some
engine has a positive weight, so a job need not run it (``KindVoting.can_change_answer``).

**Winner confidence.** For ``confidence``: the winner's score divided by the summed weight of
the engines that voted (so it is the weighted mean probability the engines gave the winner,
in [0, 1]). For ``majority`` and ``weighted``: the winner's share of the vote (score / total
score) times the mean confidence that the engines voting for it gave it.

**Ties** (scores compared to 9 decimal places) are broken, in order, by: the higher summed
confidence the engines gave the symbol (over the alternatives the rule counts); then the
highest-ranked engine that proposed it, engines ranked by weight descending, then by name;
then the symbol itself, lexicographically (so EPSILON, the empty string, comes first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

from engines.base import CharResult, TextResult
from ensemble.alignment import Slot, align
from ensemble.selection import select_text

Method = Literal["weighted", "confidence", "majority", "select"]
METHODS: tuple[Method, ...] = get_args(Method)
DEFAULT_WEIGHT = 1.0
_PLACES = 9
_R = TypeVar("_R", CharResult, TextResult)


@dataclass(frozen=True)
class CharVote:
    """The ensemble's reading of one character crop.

    ``character`` is "" when no engine saw anything; ``top`` holds ``(char, score)`` best
    first with scores normalised by the total score; ``agreement`` is True when every engine
    that gave a top-1 gave the same one; ``engines`` are the engines that voted.
    """

    character: str
    confidence: float
    top: tuple[tuple[str, float], ...]
    method: Method
    agreement: bool
    engines: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "character": self.character,
            "confidence": self.confidence,
            "top": [[char, score] for char, score in self.top],
            "method": self.method,
            "agreement": self.agreement,
            "engines": list(self.engines),
        }


@dataclass(frozen=True)
class TextVote:
    """The ensemble's reading of one word or line crop.

    ``confidence`` is the mean of ``char_confidences`` (0 for empty text); ``agreement`` is
    the share of alignment slots on which all hypotheses agreed (1.0 for a single one).
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    method: Method
    agreement: float
    engines: tuple[str, ...]
    selected: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "text": self.text,
            "confidence": self.confidence,
            "char_confidences": list(self.char_confidences),
            "method": self.method,
            "agreement": self.agreement,
            "engines": list(self.engines),
            "selected": self.selected,
        }


@dataclass(frozen=True)
class _Ballot:
    """One engine's say in one vote: its alternatives, best first."""

    engine: str
    weight: float
    rank: int
    choices: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class _Outcome:
    """Result of one tally: winner (None when nobody voted), its confidence, the ranking."""

    winner: str | None
    confidence: float
    ranking: tuple[tuple[str, float], ...]


def vote_chars(
    results: Sequence[CharResult],
    weights: Mapping[str, float],
    method: Method,
    top_k: int = 5,
) -> CharVote:
    """Vote on one character crop read by several engines (rules in the module docstring).

    Engines with no candidates take no part. Raises ValueError on an empty ``results``,
    an unknown ``method``, a negative ``top_k`` or a negative weight.
    """
    _check_inputs(results, method)
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    results = _with_say(results, weights, method)
    ranks = _engine_ranks([r.engine for r in results], weights)
    ballots = [
        _Ballot(
            engine=r.engine,
            weight=_weight_of(r.engine, weights),
            rank=ranks[r.engine],
            choices=tuple((c.char, c.confidence) for c in r.candidates),
        )
        for r in results
        if r.candidates
    ]
    outcome = _tally(ballots, method)
    top_ones = {ballot.choices[0][0] for ballot in ballots}
    return CharVote(
        character=outcome.winner or "",
        confidence=outcome.confidence,
        top=outcome.ranking[:top_k],
        method=method,
        agreement=len(top_ones) <= 1,
        engines=tuple(ballot.engine for ballot in ballots),
    )


def vote_text(results: Sequence[TextResult], weights: Mapping[str, float], method: Method) -> TextVote:
    """ROVER: align the engines' readings (:func:`ensemble.alignment.align`), vote per slot.

    A slot won by EPSILON emits nothing. Engines with empty text still vote (EPSILON in every
    slot). Raises ValueError on an empty ``results``, an unknown ``method`` or a negative
    weight.
    """
    _check_inputs(results, method)
    if method == "select":
        return _selected(results, weights)
    results = _with_say(results, weights, method)
    engines = [r.engine for r in results]
    return vote_slots(align([_hypothesis(result) for result in results]), engines, weights, method)


def vote_slots(slots: Sequence[Slot], engines: Sequence[str], weights: Mapping[str, float], method: Method) -> TextVote:
    """Vote per slot of an alignment already made (``slots[i].entries[j]`` is engine ``engines[j]``'s).

    :func:`vote_text` aligns and then calls this; fitting weights calls it directly, as the alignment
    does not depend on the weights.
    """
    ranks = _engine_ranks(engines, weights)
    chars: list[str] = []
    confidences: list[float] = []
    for slot in slots:
        ballots = [
            _Ballot(engine, _weight_of(engine, weights), ranks[engine], (entry,))
            for engine, entry in zip(engines, slot.entries, strict=True)
        ]
        outcome = _tally(ballots, method)
        if outcome.winner:
            chars.append(outcome.winner)
            confidences.append(outcome.confidence)
    unanimous = sum(1 for slot in slots if slot.unanimous)
    return TextVote(
        text="".join(chars),
        confidence=sum(confidences) / len(confidences) if confidences else 0.0,
        char_confidences=tuple(confidences),
        method=method,
        agreement=unanimous / len(slots) if slots and len(engines) > 1 else 1.0,
        engines=tuple(engines),
    )


def _selected(results: Sequence[TextResult], weights: Mapping[str, float]) -> TextVote:
    """``select``: one engine's reading, chosen by minimum Bayes risk; agreement is its exact support."""
    for result in results:
        _weight_of(result.engine, weights)  # refuses negative weights, as the other methods do
    chosen = select_text(results, weights)
    confidences = chosen.char_confidences
    return TextVote(
        text=chosen.text,
        confidence=sum(confidences) / len(confidences) if confidences else 0.0,
        char_confidences=confidences,
        method="select",
        agreement=chosen.support if len(results) > 1 else 1.0,
        engines=tuple(r.engine for r in results),
        selected=chosen.engine,
    )


def joint_confidence(char_confidences: Sequence[float]) -> float:
    """The product of a reading's character confidences (0 for no characters): a line-level score that
    a preset's confidence map turns into the probability that the whole line is right."""
    if not char_confidences:
        return 0.0
    return math.exp(sum(math.log(max(1e-12, min(1.0, c))) for c in char_confidences))


def _hypothesis(result: TextResult) -> list[tuple[str, float]]:
    """A text reading as the ``(char, confidence)`` pairs that alignment takes."""
    return list(zip(result.text, result.char_confidences, strict=True))


def _with_say(results: Sequence[_R], weights: Mapping[str, float], method: Method) -> list[_R]:
    """The results of engines with a say: all under ``majority`` or when no weight is positive, else
    those whose weight is above 0."""
    if method == "majority":
        return list(results)
    positive = [r for r in results if _weight_of(r.engine, weights) > 0]
    return positive or list(results)


def _check_inputs(results: Sequence[object], method: str) -> None:
    """Reject an empty result list and an unknown method."""
    if not results:
        raise ValueError("cannot vote on an empty list of results")
    if method not in METHODS:
        raise ValueError(f"unknown voting method {method!r}; expected one of {METHODS}")


def _weight_of(engine: str, weights: Mapping[str, float]) -> float:
    """The engine's weight (1.0 when absent); negative or non-finite weights are refused."""
    weight = float(weights.get(engine, DEFAULT_WEIGHT))
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"engine {engine!r}: weight must be finite and >= 0: {weight}")
    return weight


def _engine_ranks(
    engines: Sequence[str],
    weights: Mapping[str, float],
) -> dict[str, int]:
    """Rank of each engine name: by weight descending, then by name (0 is the strongest)."""
    names = sorted(set(engines), key=lambda name: (-_weight_of(name, weights), name))
    return {name: rank for rank, name in enumerate(names)}


def _counted_choices(ballot: _Ballot, method: Method) -> list[tuple[str, float]]:
    """The alternatives the rule counts: top-1 only, or (for ``confidence``) each distinct one."""
    if method != "confidence":  # majority, weighted and select count the top-1
        return list(ballot.choices[:1])
    best: dict[str, float] = {}
    for symbol, confidence in ballot.choices:
        best[symbol] = max(confidence, best.get(symbol, confidence))
    return list(best.items())


def _ballot_score(ballot: _Ballot, confidence: float, method: Method) -> float:
    """What one counted alternative adds to its symbol's score."""
    if method == "majority":
        return 1.0
    if method == "weighted":
        return ballot.weight
    return ballot.weight * confidence  # confidence and select


def _tally(ballots: Sequence[_Ballot], method: Method) -> _Outcome:
    """Score every symbol, rank them with the tie rule, and rate the winner."""
    if method != "majority" and any(ballot.weight > 0 for ballot in ballots):
        ballots = [ballot for ballot in ballots if ballot.weight > 0]  # weight 0: no say (module docstring)
    scores: dict[str, float] = {}
    support: dict[str, list[float]] = {}
    best_rank: dict[str, int] = {}
    ballots = sorted(ballots, key=lambda b: b.rank)  # a fixed order for float sums
    for ballot in ballots:
        for symbol, confidence in _counted_choices(ballot, method):
            points = _ballot_score(ballot, confidence, method)
            scores[symbol] = scores.get(symbol, 0.0) + points
            support.setdefault(symbol, []).append(confidence)
            best_rank[symbol] = min(ballot.rank, best_rank.get(symbol, ballot.rank))
    if not scores:
        return _Outcome(None, 0.0, ())
    ordered = sorted(
        scores,
        key=lambda s: (
            -round(scores[s], _PLACES),
            -round(sum(support[s]), _PLACES),
            best_rank[s],
            s,
        ),
    )
    total = sum(scores.values())
    ranking = tuple((s, scores[s] / total if total > 0 else 0.0) for s in ordered)
    winner = ordered[0]
    if method in ("confidence", "select"):
        voting_weight = sum(ballot.weight for ballot in ballots)
        confidence = scores[winner] / voting_weight if voting_weight > 0 else 0.0
    else:
        backing = support[winner]
        confidence = ranking[0][1] * sum(backing) / len(backing)
    return _Outcome(winner, _clamp(confidence), ranking)


def _clamp(value: float) -> float:
    """Clip to [0, 1] (guards against rounding and out-of-range engine confidences)."""
    return min(1.0, max(0.0, value))


__all__ = ["METHODS", "CharVote", "Method", "TextVote", "joint_confidence", "vote_chars", "vote_slots", "vote_text"]
