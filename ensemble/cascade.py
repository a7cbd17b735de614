"""A cascade: cheap engines read every crop first, and only the crops they are unsure of go to the rest.

Most crops are easy: when the cheap engines agree with high confidence, the slower engines would not
have changed the answer, and running them only costs time. A :class:`Cascade` names the first-stage
engines (with the weights their own vote uses) and the score from which a crop is accepted on their
vote alone. The score is the first-stage vote's confidence (engines' calibrated confidences combined
by the kind's method): a character's vote confidence, or for text the product of the characters'
confidences (:func:`~ensemble.voting.joint_confidence`). ``ocr calibrate --cascade`` fits the
threshold on real readings so that the cascade's accuracy stays within a stated margin of the full
vote (:mod:`evaluation.cascade`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engines.base import CharResult, TextResult
from ensemble.voting import CharVote, Method, TextVote, joint_confidence, vote_chars, vote_text


@dataclass(frozen=True)
class Cascade:
    """First-stage engines (name -> weight in their own vote) and the score that accepts a crop."""

    first: dict[str, float]
    accept_above: float

    def __post_init__(self) -> None:
        if not self.first:
            raise ValueError("a cascade needs at least one first-stage engine")
        if not math.isfinite(self.accept_above) or not 0.0 <= self.accept_above <= 1.0:
            raise ValueError(f"accept_above must be in [0, 1], got {self.accept_above}")
        if any(not math.isfinite(w) or w < 0 for w in self.first.values()):
            raise ValueError(f"first-stage weights must be finite and >= 0: {self.first}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in presets and carried in job options."""
        return {"first": dict(self.first), "accept_above": self.accept_above}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cascade:
        """Inverse of :meth:`to_dict` (ValueError when it is not a valid cascade)."""
        return cls({str(k): float(v) for k, v in dict(data["first"]).items()}, float(data["accept_above"]))

    def plan(self, engines: Sequence[str]) -> tuple[list[str], list[str]] | None:
        """The engines of each stage among ``engines`` (the job's), or None when there is no second stage
        or no first-stage engine among them (then every engine simply runs)."""
        first = [name for name in engines if name in self.first]
        later = [name for name in engines if name not in self.first]
        if not first or not later:
            return None
        return first, later


def first_char_vote(results: Sequence[CharResult], cascade: Cascade, method: Method) -> CharVote | None:
    """The first stage's vote on a character (None when no first-stage engine read it)."""
    chosen = [r for r in results if r.engine in cascade.first and r.candidates]
    return vote_chars(chosen, first_stage_weights(cascade), method) if chosen else None


def first_text_vote(results: Sequence[TextResult], cascade: Cascade, method: Method) -> TextVote | None:
    """The first stage's vote on a line (None when no first-stage engine read it)."""
    chosen = [r for r in results if r.engine in cascade.first]
    return vote_text(chosen, first_stage_weights(cascade), method) if chosen else None


def char_score(vote: CharVote | None) -> float:
    """How sure the first stage is of a character: its vote's confidence (0 for no answer)."""
    return vote.confidence if vote is not None and vote.character else 0.0


def text_score(vote: TextVote | None) -> float:
    """How sure the first stage is of a line: the product of its characters' confidences (0 if empty)."""
    return joint_confidence(vote.char_confidences) if vote is not None and vote.text else 0.0


def accepts(cascade: Cascade, score: float) -> bool:
    """Whether a crop with this first-stage score is answered without the later engines."""
    return score >= cascade.accept_above


def first_stage_weights(cascade: Cascade) -> dict[str, float]:
    """The weights of the first stage's own vote."""
    # A first stage of engines that all have weight 0 still answers: each then counts equally.
    return dict(cascade.first) if any(cascade.first.values()) else dict.fromkeys(cascade.first, 1.0)
