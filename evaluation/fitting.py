"""Fitting voting per kind of crop, cross-validated, with a guard that keeps a losing fit from shipping.

For each kind with enough items (:data:`MIN_ITEMS`):

1. **Fit** (:func:`fit_kind`): a Platt calibration per engine on this kind's items; for each voting
   method, weights by coordinate ascent over :data:`WEIGHT_GRID`, starting from the best engine alone
   (others join only where they help); the best vote replaces that engine only when its gain on the
   fitting items is clear of bootstrap noise. Then the vote's own confidence is calibrated (line and
   character, isotonic or Platt) so that it can be read as a probability.
2. **Measure** (:func:`cross_validate`): k-fold cross-validation, refitting from scratch on each
   training part and answering each held-out fold with it; every item is answered once by a fit
   that never saw it. Scores get bootstrap confidence intervals (:func:`bootstrap_ci`).
3. **Guard** (:func:`guard`): the preset may become the default only when, on every fitted kind, its
   cross-validated score is at least the best single engine's and the prior weights', and overall
   (mean over kinds) it is better than the best single engines.

Scores: accuracy for characters, 1 - corpus CER (total edits over total truth length, on
:func:`~evaluation.normalize.normalise`-d text) for everything else.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from engines.base import CharResult, TextResult
from ensemble.alignment import Slot, align
from ensemble.calibration import Calibration, PlattCalibration, calibrate
from ensemble.kinds import KindVoting
from ensemble.voting import Method, TextVote, joint_confidence, vote_chars, vote_slots, vote_text
from evaluation.calibrate import confidence_samples, fit_isotonic, fit_platt, matched_positions
from evaluation.normalize import normalise
from evaluation.readings import Reading
from evaluation.scoring import Answer, engine_answer, expected_calibration_error

MIN_ITEMS = 30
FOLDS = 5
WEIGHT_GRID = (0.0, 0.5, 1.0, 2.0, 3.0)
ROUNDS = 2
# Character votes re-align every line for every weight tried; they are fitted on at most this many items.
ROVER_FIT_ITEMS = 300
BOOTSTRAP_SAMPLES = 1000
# A vote's confidence is mapped by isotonic regression from this many fitting items on, else by Platt.
ISOTONIC_FROM = 100
# The methods a fit tries (majority ignores weights: it is weighted voting with all weights 1).
FITTED_METHODS: tuple[Method, ...] = ("select", "confidence", "weighted")
FIT_KIND_OF_ITEM = {"char": "char", "word": "line", "line": "line", "page": "page"}
LINE_CONTENTS = ("printed", "handwritten", "scene")


def fit_kind_of(reading: Reading) -> str:
    """The kind an item is fitted as: its manifest's ``fit_kind`` column, else from its item kind."""
    return reading.item.groups.get("fit_kind") or FIT_KIND_OF_ITEM[reading.item.kind]


def kind_groups(readings: Sequence[Reading]) -> dict[str, list[Reading]]:
    """Items per kind. Every word and line item is also in ``line`` (what a line job without a hint uses)."""
    groups: dict[str, list[Reading]] = {}
    for reading in readings:
        kind = fit_kind_of(reading)
        if kind in ("char", "page"):
            groups.setdefault(kind, []).append(reading)
            continue
        groups.setdefault("line", []).append(reading)
        if kind in LINE_CONTENTS:
            groups.setdefault(kind, []).append(reading)
    return groups


# --- scores ------------------------------------------------------------------------------------------


def kind_score(readings: Sequence[Reading], answers: Sequence[Answer]) -> float:
    """Accuracy (characters) or 1 - corpus CER (text) of ``answers``; items are all of one kind."""
    if not readings:
        return 0.0
    if readings[0].item.kind == "char":
        return sum(a.text == r.item.truth for r, a in zip(readings, answers, strict=True)) / len(readings)
    edits, total = _edits(readings, answers)
    return 1.0 - float(edits.sum()) / max(1, int(total.sum()))


def _edits(readings: Sequence[Reading], answers: Sequence[Answer]) -> tuple[np.ndarray, np.ndarray]:
    """Per item: edit distance to the truth and the truth's length (normalised text)."""
    edits = np.array(
        [
            Levenshtein.distance(normalise(a.text), normalise(r.item.truth))
            for r, a in zip(readings, answers, strict=True)
        ]
    )
    lengths = np.array([len(normalise(r.item.truth)) for r in readings])
    return edits, lengths


def bootstrap_ci(
    readings: Sequence[Reading],
    answers: Sequence[Answer],
    baseline: Sequence[Answer] | None = None,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """95% percentile interval of the score (or of score minus ``baseline``'s), resampling items."""
    if not readings:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    n = len(readings)
    if readings[0].item.kind == "char":
        right = np.array([a.text == r.item.truth for r, a in zip(readings, answers, strict=True)], dtype=float)
        base = (
            np.array([a.text == r.item.truth for r, a in zip(readings, baseline, strict=True)], dtype=float)
            if baseline is not None
            else np.zeros(n)
        )
        draws = rng.integers(0, n, size=(samples, n))
        values = right[draws].mean(axis=1) - base[draws].mean(axis=1)
    else:
        edits, lengths = _edits(readings, answers)
        base_edits = _edits(readings, baseline)[0] if baseline is not None else None
        draws = rng.integers(0, n, size=(samples, n))
        total = np.maximum(1, lengths[draws].sum(axis=1))
        values = 1.0 - edits[draws].sum(axis=1) / total
        if base_edits is not None:
            values = values - (1.0 - base_edits[draws].sum(axis=1) / total)
    low, high = np.percentile(values, [2.5, 97.5])
    return (float(low), float(high))


# --- answering with a voting --------------------------------------------------------------------------


@dataclass
class _Prepared:
    """One item's readings with a calibration applied, and each line's alignment made on demand."""

    reading: Reading
    chars: list[CharResult] = field(default_factory=list)
    lines: list[list[TextResult]] = field(default_factory=list)
    slots: list[list[Slot] | None] = field(default_factory=list)


def _prepare(reading: Reading, calibration: Mapping[str, PlattCalibration], engines: Sequence[str]) -> _Prepared:
    prepared = _Prepared(reading)
    if reading.item.kind == "char":
        found = [calibrate(reading.chars[name], calibration.get(name)) for name in engines if name in reading.chars]
        prepared.chars = [r for r in found if isinstance(r, CharResult)]
        return prepared
    for line in reading.lines:
        texts = [calibrate(line[name], calibration.get(name)) for name in engines if name in line]
        prepared.lines.append([t for t in texts if isinstance(t, TextResult)])
        prepared.slots.append(None)
    return prepared


def _answer(prepared: _Prepared, weights: Mapping[str, float], method: Method) -> tuple[Answer, list[TextVote]]:
    """The raw (uncalibrated) vote for one item, and its per-line votes."""
    if prepared.reading.item.kind == "char":
        if not prepared.chars:
            return Answer("", 0.0), []
        vote = vote_chars(prepared.chars, weights, method)
        return Answer(vote.character, vote.confidence), []
    votes: list[TextVote] = []
    for index, texts in enumerate(prepared.lines):
        if not texts:
            continue
        if method == "select":
            votes.append(vote_text(texts, weights, method))
            continue
        slots = prepared.slots[index]
        if slots is None:
            slots = align([list(zip(t.text, t.char_confidences, strict=True)) for t in texts])
            prepared.slots[index] = slots
        votes.append(vote_slots(slots, [t.engine for t in texts], weights, method))
    kept = [v for v in votes if v.text]
    chars = sum(len(v.text) for v in kept)
    confidence = sum(v.confidence * len(v.text) for v in kept) / chars if chars else 0.0
    return Answer("\n".join(v.text for v in kept), confidence), votes


def map_score(answer: Answer, votes: Sequence[TextVote]) -> float:
    """What a preset's confidence map reads: a character's vote confidence, or for text the product of
    its characters' confidences (the chance that all are right if they were independent), which predicts
    an exactly right line better than their mean (out-of-fold calibration error 0.025 against 0.058 on
    printed lines, 0.040 against 0.062 on photographed words)."""
    if not votes:
        return answer.confidence
    return joint_confidence([c for vote in votes if vote.text for c in vote.char_confidences])


def _raw(readings: Sequence[Reading], voting: KindVoting, engines: Sequence[str]) -> list[tuple[Answer, float]]:
    """Each item's uncalibrated answer under ``voting`` and the score its confidence map would read."""
    found = []
    for reading in readings:
        answer, votes = _answer(_prepare(reading, voting.calibration, engines), voting.weights, voting.method)
        found.append((answer, map_score(answer, votes)))
    return found


def answer_with(readings: Sequence[Reading], voting: KindVoting, engines: Sequence[str]) -> list[Answer]:
    """Each item's answer under ``voting``, with the vote's confidence calibrated as the server does."""
    answers = []
    for raw, score in _raw(readings, voting, engines):
        confidence = voting.confidence(score) if voting.confidence and raw.text else raw.confidence
        answers.append(Answer(raw.text, confidence))
    return answers


# --- fitting -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindFit:
    """A fitted voting and how it was chosen."""

    voting: KindVoting
    fit_score: float
    chosen: str  # the method, or "engine:<name>" when one engine alone was best


@dataclass(frozen=True)
class _Candidate:
    """One voting tried by a fit, with its answers (and per-line votes) on the fitting items."""

    label: str  # the method, or "engine:<name>" for one engine alone
    weights: dict[str, float]
    method: Method
    results: list[tuple[Answer, list[TextVote]]]
    score: float


def fit_kind(readings: Sequence[Reading], engines: Sequence[str], seed: int = 0) -> KindFit:
    """Calibrations, weights and method for one kind (see the module docstring)."""
    is_char = readings[0].item.kind == "char"
    calibration = {name: fit_platt(*confidence_samples(readings, name)) for name in engines}
    prepared = [_prepare(r, calibration, engines) for r in readings]
    rng = random.Random(seed)
    rover_subset = prepared if len(prepared) <= ROVER_FIT_ITEMS else rng.sample(prepared, ROVER_FIT_ITEMS)

    def score(items: Sequence[_Prepared], weights: Mapping[str, float], method: Method) -> float:
        answers = [_answer(p, weights, method)[0] for p in items]
        return kind_score([p.reading for p in items], answers)

    def candidate(label: str, weights: dict[str, float], method: Method) -> _Candidate:
        results = [_answer(p, weights, method) for p in prepared]
        return _Candidate(label, weights, method, results, kind_score(readings, [a for a, _ in results]))

    singles = [candidate(f"engine:{name}", {o: float(o == name) for o in engines}, "select") for name in engines]
    # Ties between engines go to the first by name: deterministic.
    single = min(singles, key=lambda c: (-round(c.score, 9), c.label))
    combined = []
    for method in FITTED_METHODS:
        subset = prepared if method == "select" or is_char else rover_subset
        # From the best engine alone, others join only where they raise the score (forward selection).
        weights = _ascend(lambda w, m=method, s=subset: score(s, w, m), engines, single.weights)  # type: ignore[misc]
        combined.append(candidate(method, weights, method))
    best = max(combined, key=lambda c: round(c.score, 9))
    chosen = best if _clearly_better(readings, best, single, seed) else single
    confidence = _fit_confidence(readings, [a for a, _ in chosen.results], [map_score(a, v) for a, v in chosen.results])
    char_confidence = None if is_char else _fit_char_confidence(readings, [votes for _, votes in chosen.results])
    voting = KindVoting(chosen.weights, chosen.method, calibration, confidence, char_confidence)
    return KindFit(voting, chosen.score, chosen.label)


def _clearly_better(readings: Sequence[Reading], combined: _Candidate, single: _Candidate, seed: int) -> bool:
    """Whether a vote beats the best engine alone on the fitting items beyond resampling noise.

    Its gain is measured on the very items its weights were fitted on, so a gain inside the 95% paired
    bootstrap interval of zero is taken for what it most likely is: fitting noise. The simpler answer,
    one engine alone, is kept then (it cannot lose to itself on new data).
    """
    if combined.score <= single.score:
        return False
    ours = [a for a, _ in combined.results]
    theirs = [a for a, _ in single.results]
    low, _ = bootstrap_ci(readings, ours, theirs, seed=seed)
    return low > 0


def _ascend(
    score: Callable[[Mapping[str, float]], float], engines: Sequence[str], start: Mapping[str, float]
) -> dict[str, float]:
    """Coordinate ascent over :data:`WEIGHT_GRID` from ``start``."""
    weights = dict(start)
    best = score(weights)
    for _ in range(ROUNDS):
        improved = False
        for engine in engines:
            for value in WEIGHT_GRID:
                if value == weights[engine]:
                    continue
                trial = {**weights, engine: value}
                if not any(trial.values()):
                    continue
                current = score(trial)
                if current > best + 1e-9:
                    best, weights, improved = current, trial, True
        if not improved:
            break
    return weights


def _fit_probability(confidences: Sequence[float], correct: Sequence[bool]) -> Calibration:
    """Isotonic when there is enough data to follow any monotone shape, Platt's sigmoid otherwise."""
    if len(confidences) >= ISOTONIC_FROM:
        return fit_isotonic(confidences, correct)
    return fit_platt(confidences, correct)


def _fit_confidence(
    readings: Sequence[Reading], answers: Sequence[Answer], scores: Sequence[float]
) -> Calibration | None:
    """Map the vote's score (:func:`map_score`) to P(answer exactly right), on the fitting items."""
    pairs = [
        (score, normalise(a.text) == normalise(r.item.truth))
        for r, a, score in zip(readings, answers, scores, strict=True)
        if a.text
    ]
    if len(pairs) < 10:
        return None
    return _fit_probability([c for c, _ in pairs], [ok for _, ok in pairs])


def _fit_char_confidence(readings: Sequence[Reading], votes: Sequence[list[TextVote]]) -> Calibration | None:
    """Map each voted character's confidence to P(that character is right), on the fitting items."""
    confidences: list[float] = []
    correct: list[bool] = []
    for reading, item_votes in zip(readings, votes, strict=True):
        truth = normalise(reading.item.truth)
        for vote in item_votes:
            matched = matched_positions(vote.text, truth)
            confidences.extend(vote.char_confidences)
            correct.extend(position in matched for position in range(len(vote.text)))
    if len(confidences) < 10:
        return None
    return _fit_probability(confidences, correct)


# --- cross-validation and the guard ------------------------------------------------------------------


def folds_of(count: int, folds: int, seed: int) -> list[int]:
    """A seeded fold number per item."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    assignment = [0] * count
    for position, index in enumerate(order):
        assignment[index] = position % folds
    return assignment


def cross_validate(
    readings: Sequence[Reading], engines: Sequence[str], folds: int = FOLDS, seed: int = 0
) -> tuple[list[Answer], list[str]]:
    """Out-of-fold answers (each item answered by a fit made without it) and what each fold chose."""
    assignment = folds_of(len(readings), folds, seed)
    answers: list[Answer | None] = [None] * len(readings)
    chosen: list[str] = []
    for fold in range(folds):
        train = [r for r, f in zip(readings, assignment, strict=True) if f != fold]
        test_index = [i for i, f in enumerate(assignment) if f == fold]
        if not train or not test_index:
            continue
        fitted = fit_kind(train, engines, seed)
        chosen.append(fitted.chosen)
        for index, answer in zip(
            test_index, answer_with([readings[i] for i in test_index], fitted.voting, engines), strict=True
        ):
            answers[index] = answer
    return [a if a is not None else Answer("", 0.0) for a in answers], chosen


@dataclass
class KindReport:
    """Cross-validated scores of one kind: every engine, the prior, the fitted ensemble."""

    kind: str
    items: int
    fitted: bool
    scores: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    best_engine: str = ""
    delta_vs_best: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ece: float | None = None
    chosen: str = ""
    folds_chose: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the preset's fit record and ``--report``."""
        return {
            "items": self.items,
            "fitted": self.fitted,
            "scores": {k: round(v, 5) for k, v in self.scores.items()},
            "ci95": {k: [round(lo, 5), round(hi, 5)] for k, (lo, hi) in self.intervals.items()},
            "best_engine": self.best_engine,
            "ensemble_minus_best_engine": [round(v, 5) for v in self.delta_vs_best],
            "ece": None if self.ece is None else round(self.ece, 4),
            "chosen": self.chosen,
            "folds_chose": self.folds_chose,
        }


Baseline = Callable[[str], KindVoting]
"""A voting to compare a fit with, per kind: the prior weights, the preset the fit would replace."""


def report_kind(
    kind: str,
    readings: Sequence[Reading],
    engines: Sequence[str],
    baselines: Mapping[str, Baseline],
    folds: int = FOLDS,
    seed: int = 0,
    adoptable: Sequence[str] = ("previous",),
) -> tuple[KindReport, KindVoting | None]:
    """Fit one kind, measure it by cross-validation against the engines and baselines; the voting to ship.

    When the cross-validated fit scores below the best engine alone, the kind ships that engine alone;
    when it scores below an ``adoptable`` baseline (the preset it would replace), the kind keeps that
    baseline's voting. Either way the report says so (``chosen``) and keeps the fit's own score as
    ``fitted``; the ``ensemble`` score is then the adopted voting's. The vote's confidence map is fitted
    for whatever ships, and its calibration error is measured out of fold.
    """
    report = KindReport(kind, len(readings), fitted=len(readings) >= MIN_ITEMS)
    systems: dict[str, list[Answer]] = {name: [engine_answer(r, name) for r in readings] for name in engines}
    votings = {label: make(kind) for label, make in baselines.items()}
    for label, voting in votings.items():
        systems[label] = answer_with(readings, voting, engines)
    shipped: KindVoting | None = None
    if report.fitted:
        systems["fitted"], report.folds_chose = cross_validate(readings, engines, folds, seed)
        fit = fit_kind(readings, engines, seed)
        shipped, report.chosen, systems["ensemble"] = fit.voting, fit.chosen, systems["fitted"]
        best = max(engines, key=lambda name: (round(kind_score(readings, systems[name]), 9), name))
        alternatives = [(f"engine:{best} (the fit lost in cross-validation)", _alone(best, engines))]
        alternatives += [
            (f"{label} (the fit lost in cross-validation)", votings[label]) for label in adoptable if label in votings
        ]
        for label, voting in alternatives:
            raw = _raw(readings, replace(voting, confidence=None, char_confidence=None), engines)
            if kind_score(readings, [a for a, _ in raw]) > kind_score(readings, systems["ensemble"]) + 1e-9:
                shipped, report.chosen = _with_confidence_maps(readings, voting, engines), label
                systems["ensemble"] = _out_of_fold_confidence(readings, raw, folds, seed)
    for label, answers in systems.items():
        report.scores[label] = kind_score(readings, answers)
        report.intervals[label] = bootstrap_ci(readings, answers, seed=seed)
    report.best_engine = max(engines, key=lambda name: (round(report.scores[name], 9), name))
    if report.fitted:
        report.ece = calibration_error(readings, systems["ensemble"])
        low, high = bootstrap_ci(readings, systems["ensemble"], systems[report.best_engine], seed=seed)
        report.delta_vs_best = (report.scores["ensemble"] - report.scores[report.best_engine], low, high)
    return report, shipped


def calibration_error(readings: Sequence[Reading], answers: Sequence[Answer]) -> float:
    """Expected calibration error of the answers' confidences against exact correctness (normalised text)."""
    right = [normalise(a.text) == normalise(r.item.truth) for r, a in zip(readings, answers, strict=True)]
    return expected_calibration_error([a.confidence for a in answers], right)


def _alone(engine: str, engines: Sequence[str]) -> KindVoting:
    """One engine's reading, as a voting."""
    return KindVoting({name: float(name == engine) for name in engines}, "select")


def _with_confidence_maps(readings: Sequence[Reading], voting: KindVoting, engines: Sequence[str]) -> KindVoting:
    """``voting`` with its vote-confidence maps fitted on ``readings`` (its answers do not change)."""
    plain = replace(voting, confidence=None, char_confidence=None)
    raw = [_answer(_prepare(r, plain.calibration, engines), plain.weights, plain.method) for r in readings]
    confidence = _fit_confidence(readings, [a for a, _ in raw], [map_score(a, v) for a, v in raw])
    char_confidence = None if readings[0].item.kind == "char" else _fit_char_confidence(readings, [v for _, v in raw])
    return replace(plain, confidence=confidence, char_confidence=char_confidence)


def _out_of_fold_confidence(
    readings: Sequence[Reading], raw: Sequence[tuple[Answer, float]], folds: int, seed: int
) -> list[Answer]:
    """The answers with confidences mapped by a map fitted on the other folds (for an honest ECE)."""
    assignment = folds_of(len(readings), folds, seed)
    mapped = [answer for answer, _ in raw]
    for fold in range(folds):
        train = [i for i, f in enumerate(assignment) if f != fold]
        mapping = _fit_confidence([readings[i] for i in train], [raw[i][0] for i in train], [raw[i][1] for i in train])
        for index in (i for i, f in enumerate(assignment) if f == fold):
            answer, score = raw[index]
            if mapping is not None and answer.text:
                mapped[index] = Answer(answer.text, mapping(score))
    return mapped


@dataclass(frozen=True)
class Verdict:
    """Whether a fit may become the default, and why not."""

    passed: bool
    reasons: list[str]


def guard(reports: Sequence[KindReport], baselines: Sequence[str], tolerance: float = 1e-9) -> Verdict:
    """The rule of the module docstring, on cross-validated scores."""
    fitted = [r for r in reports if r.fitted]
    reasons: list[str] = []
    if not fitted:
        return Verdict(False, ["no kind had enough items to fit"])
    for report in fitted:
        ensemble = report.scores["ensemble"]
        best = report.scores[report.best_engine]
        if ensemble < best - tolerance:
            reasons.append(f"{report.kind}: ensemble {ensemble:.4f} < best engine {report.best_engine} {best:.4f}")
        for label in baselines:
            if label in report.scores and ensemble < report.scores[label] - tolerance:
                reasons.append(f"{report.kind}: ensemble {ensemble:.4f} < {label} {report.scores[label]:.4f}")
    gain = sum(r.scores["ensemble"] - r.scores[r.best_engine] for r in fitted) / len(fitted)
    if gain <= tolerance:
        reasons.append(f"no gain over the best single engines overall (mean over kinds {gain:+.4f})")
    return Verdict(not reasons, reasons)
