"""Scores of each engine, each voting method and the oracle on a set of readings.

Characters: accuracy (case-sensitive and not). Words, lines and pages: character and word error rates
(jiwer, corpus level: total edits over total reference length), on text normalised alike on both sides
(:mod:`evaluation.normalize`). Calibration: expected calibration
error of the confidences (10 equal-width bins) against exact correctness, for char, word and line items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jiwer
import numpy as np
from rapidfuzz.distance import Levenshtein

from engines.base import CharResult, TextResult
from ensemble import vote_chars, vote_text
from ensemble.calibration import PlattCalibration, calibrate
from ensemble.voting import METHODS, Method
from evaluation.normalize import normalise
from evaluation.readings import Reading

ORACLE = "oracle"


@dataclass(frozen=True)
class Answer:
    """One system's answer for one item."""

    text: str
    confidence: float


@dataclass(frozen=True)
class Voting:
    """How to vote: weights, method, and optional per-engine calibrations."""

    weights: Mapping[str, float]
    method: Method
    calibration: Mapping[str, PlattCalibration]


def engine_answer(reading: Reading, engine: str) -> Answer:
    """What one engine alone answered (empty when it failed)."""
    if reading.item.kind == "char":
        result = reading.chars.get(engine)
        top = result.top if result else None
        return Answer(top.char, top.confidence) if top else Answer("", 0.0)
    texts = [line[engine] for line in reading.lines if engine in line]
    read = [t for t in texts if t.text]
    chars = sum(len(t.text) for t in read)
    confidence = sum(t.confidence * len(t.text) for t in read) / chars if chars else 0.0
    return Answer("\n".join(t.text for t in read), confidence)


def voted_answer(reading: Reading, voting: Voting) -> Answer:
    """The ensemble's answer, voted again from the raw readings."""
    cal = voting.calibration
    if reading.item.kind == "char":
        chars = [calibrate(r, cal.get(name)) for name, r in sorted(reading.chars.items())]
        chars = [r for r in chars if isinstance(r, CharResult)]
        if not chars:
            return Answer("", 0.0)
        vote = vote_chars(chars, voting.weights, voting.method)
        return Answer(vote.character, vote.confidence)
    lines = []
    for line in reading.lines:
        texts = [calibrate(r, cal.get(name)) for name, r in sorted(line.items())]
        texts = [r for r in texts if isinstance(r, TextResult)]
        if texts:
            vote = vote_text(texts, voting.weights, voting.method)
            lines.append((vote.text, vote.confidence))
    kept = [(text, conf) for text, conf in lines if text]
    chars = sum(len(text) for text, _ in kept)
    confidence = sum(conf * len(text) for text, conf in kept) / chars if chars else 0.0
    return Answer("\n".join(text for text, _ in kept), confidence)


def oracle_answer(reading: Reading, engines: Sequence[str]) -> Answer:
    """The best pick among the engines for this item (what perfect selection would reach)."""
    answers = [engine_answer(reading, name) for name in engines]
    if not answers:
        return Answer("", 0.0)
    truth = reading.item.truth
    return min(answers, key=lambda a: Levenshtein.distance(a.text, truth))


def score(readings: Sequence[Reading], answers: Sequence[Answer]) -> dict[str, Any]:
    """Accuracy for char items, CER/WER for the rest, and the calibration error."""
    chars = [(r.item.truth, a) for r, a in zip(readings, answers, strict=True) if r.item.kind == "char"]
    texts = [(r.item.truth, a) for r, a in zip(readings, answers, strict=True) if r.item.kind != "char"]
    exact = [(r.item, a) for r, a in zip(readings, answers, strict=True) if r.item.kind in ("char", "word", "line")]
    out: dict[str, Any] = {"items": len(readings), "char_items": len(chars), "text_items": len(texts)}
    if chars:
        out["char_accuracy"] = sum(a.text == t for t, a in chars) / len(chars)
        out["char_accuracy_ci"] = sum(a.text.lower() == t.lower() for t, a in chars) / len(chars)
    if texts:
        # Both sides normalised alike (historical letter forms, Unicode composition): evaluation.normalize.
        truths, hypotheses = [normalise(t) for t, _ in texts], [normalise(a.text) for _, a in texts]
        out["cer"] = float(jiwer.cer(truths, hypotheses))
        out["wer"] = float(jiwer.wer(truths, hypotheses))
    if exact:
        out["ece"] = expected_calibration_error(
            [a.confidence for _, a in exact], [normalise(a.text) == normalise(item.truth) for item, a in exact]
        )
    return out


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Sum over equal-width bins of (share of items in the bin) x |accuracy - mean confidence|."""
    if not confidences:
        return 0.0
    conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    hits = np.asarray(correct, dtype=float)
    index = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.mean() * abs(hits[members].mean() - conf[members].mean())
    return float(total)


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[dict[str, float]]:
    """Per bin: mean confidence, accuracy and count (the points of a reliability diagram)."""
    conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    hits = np.asarray(correct, dtype=float)
    index = np.minimum((conf * bins).astype(int), bins - 1)
    points = []
    for b in range(bins):
        members = index == b
        if members.any():
            points.append(
                {
                    "confidence": float(conf[members].mean()),
                    "accuracy": float(hits[members].mean()),
                    "count": int(members.sum()),
                }
            )
    return points


def all_answers(readings: Sequence[Reading], engines: Sequence[str], voting: Voting) -> dict[str, list[Answer]]:
    """Every system's answers: each engine, each voting method (same weights), and the oracle."""
    systems: dict[str, list[Answer]] = {name: [engine_answer(r, name) for r in readings] for name in engines}
    for method in METHODS:
        replayed = Voting(voting.weights, method, voting.calibration)
        systems[f"vote:{method}"] = [voted_answer(r, replayed) for r in readings]
    systems[ORACLE] = [oracle_answer(r, engines) for r in readings]
    return systems


def objective(readings: Sequence[Reading], answers: Sequence[Answer]) -> float:
    """One number to maximise: mean per item of exact-correctness (chars) or 1 - CER (text)."""
    total = 0.0
    for reading, answer in zip(readings, answers, strict=True):
        truth = reading.item.truth
        if reading.item.kind == "char":
            total += float(answer.text == truth)
        else:
            total += 1.0 - min(1.0, Levenshtein.distance(answer.text, truth) / max(1, len(truth)))
    return total / max(1, len(readings))
