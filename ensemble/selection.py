"""Hypothesis selection: pick one engine's whole reading of a line instead of voting per character.

Minimum Bayes risk over the engines' readings (Goel and Byrne, 2000, applied to system combination):
each engine ``j`` backs its reading with ``v_j = weight_j x confidence_j`` (its calibrated line
confidence), and the chosen reading is the one whose expected normalised edit distance to the others,

    risk(h_i) = sum_j v_j * d(h_i, h_j),   d = Levenshtein distance / length of the longer string,

is least. With uneven engines this is more robust than a character vote: a weak engine can never splice
its characters into a strong engine's reading, it can only help choose between whole readings. An
engine with weight 0 neither backs a reading nor is chosen.

**Ties** (risks equal to 9 decimal places) go to the larger backing ``v_i``, then the engine ranked
first by weight (descending) and name, so the choice never depends on the order results arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from engines.base import TextResult

_PLACES = 9


@dataclass(frozen=True)
class Selection:
    """The chosen reading: which engine, its risk, and the share of backing that agrees with it exactly."""

    engine: str
    text: str
    char_confidences: tuple[float, ...]
    risk: float
    support: float


def distance(a: str, b: str) -> float:
    """Levenshtein distance normalised by the longer string (0 for two empty strings)."""
    return float(Levenshtein.normalized_distance(a, b))


def select_text(results: Sequence[TextResult], weights: Mapping[str, float]) -> Selection:
    """The minimum-Bayes-risk reading among ``results`` (rules in the module docstring).

    Engines missing from ``weights`` have weight 1. When every engine has weight 0 they all count
    equally (there is still an answer to give). Raises ValueError on an empty ``results``.
    """
    if not results:
        raise ValueError("cannot select among no results")
    backing = {r.engine: max(0.0, float(weights.get(r.engine, 1.0))) for r in results}
    if not any(backing.values()):
        backing = dict.fromkeys(backing, 1.0)
    # A fixed order (by engine name) for the float sums, so the choice never depends on input order.
    voters = sorted((r for r in results if backing[r.engine] > 0), key=lambda r: r.engine)
    strength = {r.engine: backing[r.engine] * _confidence(r) for r in voters}
    if not any(strength.values()):
        # No engine is confident of anything: weights alone decide.
        strength = {r.engine: backing[r.engine] for r in voters}
    total = sum(strength.values())

    def risk(candidate: TextResult) -> float:
        return sum(strength[o.engine] * distance(candidate.text, o.text) for o in voters)

    def order(candidate: TextResult) -> tuple[float, float, float, str]:
        return (
            round(risk(candidate), _PLACES),
            -round(strength[candidate.engine], _PLACES),
            -backing[candidate.engine],
            candidate.engine,
        )

    chosen = min(voters, key=order)
    agreeing = sum(strength[o.engine] for o in voters if o.text == chosen.text)
    return Selection(
        engine=chosen.engine,
        text=chosen.text,
        char_confidences=chosen.char_confidences,
        risk=risk(chosen) / total if total > 0 else 0.0,
        support=agreeing / total if total > 0 else 0.0,
    )


def _confidence(result: TextResult) -> float:
    """An engine's confidence in its whole reading; an empty reading backs "nothing here" weakly."""
    return result.confidence if result.text else 0.0
