"""Fitting a cascade per kind: which cheap engines read first, and the score from which they answer alone.

For each fitted kind of a preset and each candidate first stage (every subset of the kind's engines that
leaves at least one engine for later, and cheap engines the vote gives weight 0), the threshold is the
lowest first-stage score at which the cascade's score on the fitting items stays within ``margin`` of
the full vote's (accuracy for characters, 1 - corpus CER for text). The candidate with the lowest
expected engine time wins, if it saves time at all. The chosen cascade is then measured on the kept-apart
items: its score against the full vote's (with a bootstrap interval of the difference) and the share of
crops it sent on. Engine time per crop is each engine's mean ``elapsed_ms`` in the fitting readings.

    python -m evaluation.cascade config/presets.d/general.json --fit fit.jsonl --check final.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from engines.base import CharResult, EngineResult, TextResult
from ensemble.calibration import calibrate
from ensemble.cascade import Cascade, char_score, first_char_vote, first_text_vote, text_score
from ensemble.fitted import parse_fitted_preset, save_fitted_preset
from ensemble.kinds import KindVoting
from ensemble.voting import vote_chars, vote_text
from evaluation.fitting import bootstrap_ci, kind_groups, kind_score
from evaluation.normalize import normalise
from evaluation.readings import Reading, load_readings
from evaluation.scoring import Answer

# The bar the cascade serves: no more than 0.1 point below the full vote.
DEFAULT_MARGIN = 0.001
MAX_FIRST_ENGINES = 2


@dataclass(frozen=True)
class _Crop:
    """One crop (a character, or one line of an item) as both systems answer it."""

    item: int
    full: str
    first: str
    score: float


@dataclass(frozen=True)
class CascadeFit:
    """The chosen cascade for one kind and what it did on the fitting and the kept-apart items."""

    cascade: Cascade | None
    record: dict[str, Any]


def crops_of(readings: Sequence[Reading], voting: KindVoting, cascade: Cascade) -> list[_Crop]:
    """Every crop's full-vote answer, first-stage answer and first-stage score."""
    crops: list[_Crop] = []
    for number, reading in enumerate(readings):
        if reading.item.kind == "char":
            chars = [_calibrated(voting, r) for r in reading.chars.values()]
            typed = [r for r in chars if isinstance(r, CharResult) and r.candidates]
            full = vote_chars(typed, voting.weights, voting.method).character if typed else ""
            first = first_char_vote(typed, cascade, voting.method)
            crops.append(_Crop(number, full, first.character if first else "", char_score(first)))
            continue
        for line in reading.lines:
            texts = [r for r in (_calibrated(voting, t) for t in line.values()) if isinstance(r, TextResult)]
            full_text = vote_text(texts, voting.weights, voting.method).text if texts else ""
            first_vote = first_text_vote(texts, cascade, voting.method)
            crops.append(_Crop(number, full_text, first_vote.text if first_vote else "", text_score(first_vote)))
    return crops


def answers_at(readings: Sequence[Reading], crops: Sequence[_Crop], threshold: float | None) -> list[Answer]:
    """Each item's answer when crops scoring at least ``threshold`` keep the first stage's reading
    (``None``: the full vote everywhere)."""
    lines: list[list[str]] = [[] for _ in readings]
    for crop in crops:
        accepted = threshold is not None and crop.score >= threshold
        lines[crop.item].append(crop.first if accepted else crop.full)
    return [Answer("\n".join(text for text in texts if text), 0.0) for texts in lines]


def fit_threshold(readings: Sequence[Reading], crops: Sequence[_Crop], margin: float) -> tuple[float, float]:
    """The lowest threshold whose score is within ``margin`` of the full vote's, and the share of crops
    it sends on (1.0 and 1.0 when none is: every crop goes on). Items must be one crop each (characters,
    words and lines: what the kinds are fitted on)."""
    if len(crops) != len(readings):
        raise ValueError("fit a cascade on items of one crop each (characters, words, lines)")
    first_loss, full_loss, length = _losses(readings, crops)
    order = np.argsort([-crop.score for crop in crops], kind="stable")
    scores = np.array([crops[i].score for i in order])
    # Accepting the k most confident crops: their first-stage losses plus the full vote's for the rest.
    accepted_loss = np.concatenate([[0.0], np.cumsum(first_loss[order])])
    rest_loss = np.concatenate([np.cumsum(full_loss[order][::-1])[::-1], [0.0]])
    total = max(1.0, float(length.sum()))
    results = 1.0 - (accepted_loss + rest_loss) / total
    target = results[0] - margin
    best_k = 0
    for k in range(1, len(crops) + 1):
        # A threshold can only accept all crops of the same score together.
        if scores[k - 1] > 0 and (k == len(crops) or scores[k] < scores[k - 1]) and results[k] >= target:
            best_k = k
    if best_k == 0:
        return 1.0, 1.0
    return float(scores[best_k - 1]), 1.0 - best_k / len(crops)


def _losses(readings: Sequence[Reading], crops: Sequence[_Crop]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per crop: the first stage's and the full vote's loss, and the truth's length (1 for characters)."""
    first, full, length = [], [], []
    for crop in crops:
        truth = readings[crop.item].item.truth
        if readings[crop.item].item.kind == "char":
            first.append(float(crop.first != truth))
            full.append(float(crop.full != truth))
            length.append(1.0)
            continue
        first.append(float(Levenshtein.distance(normalise(crop.first), normalise(truth))))
        full.append(float(Levenshtein.distance(normalise(crop.full), normalise(truth))))
        length.append(float(len(normalise(truth))))
    return np.array(first), np.array(full), np.array(length)


def engine_ms(readings: Sequence[Reading]) -> dict[str, float]:
    """Each engine's mean time per crop over the readings."""
    totals: dict[str, list[float]] = {}
    for reading in readings:
        crops = 1 if reading.item.kind == "char" else max(1, len(reading.lines))
        for name, ms in reading.engine_ms.items():
            totals.setdefault(name, []).append(ms / crops)
    return {name: float(np.mean(values)) for name, values in totals.items()}


def candidates(voting: KindVoting, engines: Sequence[str], cost: dict[str, float]) -> list[dict[str, float]]:
    """First stages to try: subsets of the voting engines leaving one for later, and any engine alone
    that is cheaper than the voting engines together."""
    voters = [name for name in engines if voting.weights.get(name, 1.0) > 0]
    found: list[dict[str, float]] = []
    for size in range(1, min(MAX_FIRST_ENGINES, len(voters) - 1) + 1):
        for subset in itertools.combinations(voters, size):
            found.append({name: voting.weights.get(name, 1.0) for name in subset})
    voters_ms = sum(cost.get(name, 0.0) for name in voters)
    for name in engines:
        if name not in voters and cost.get(name, voters_ms) < voters_ms:
            found.append({name: 0.0})
    return found


def fit_kind_cascade(
    fit: Sequence[Reading], check: Sequence[Reading], voting: KindVoting, margin: float, seed: int = 0
) -> CascadeFit:
    """The cheapest cascade for one kind within ``margin`` of its full vote on ``fit``, measured on ``check``."""
    engines = sorted({name for reading in fit for name in reading.engines()})
    cost = engine_ms(fit)
    voters = [name for name in engines if voting.weights.get(name, 1.0) > 0]
    full_ms = sum(cost.get(name, 0.0) for name in voters)
    best: tuple[float, Cascade, float] | None = None
    tried: list[dict[str, Any]] = []
    for first in candidates(voting, engines, cost):
        probe = Cascade(first, 1.0)
        threshold, sent_on = fit_threshold(fit, crops_of(fit, voting, probe), margin)
        later_ms = sum(cost.get(name, 0.0) for name in voters if name not in first)
        expected = sum(cost.get(name, 0.0) for name in first) + sent_on * later_ms
        tried.append({"first": sorted(first), "accept_above": threshold, "sent_on": round(sent_on, 4),
                      "expected_ms": round(expected, 2)})  # fmt: skip
        if expected < full_ms and (best is None or expected < best[0]):
            best = (expected, Cascade(first, threshold), sent_on)
    record: dict[str, Any] = {"margin": margin, "full_ms": round(full_ms, 2), "tried": tried}
    if best is None:
        return CascadeFit(None, {**record, "chosen": None})
    expected, cascade, _ = best
    record.update(chosen=sorted(cascade.first), accept_above=cascade.accept_above, expected_ms=round(expected, 2))
    record["kept_apart"] = measure(check, voting, cascade, seed) if check else None
    return CascadeFit(cascade, record)


def measure(readings: Sequence[Reading], voting: KindVoting, cascade: Cascade, seed: int = 0) -> dict[str, Any]:
    """The cascade against the full vote on ``readings``: scores, the difference's 95% interval, share sent on."""
    crops = crops_of(readings, voting, cascade)
    full = answers_at(readings, crops, None)
    cascaded = answers_at(readings, crops, cascade.accept_above)
    return {
        "items": len(readings),
        "crops": len(crops),
        "full": round(kind_score(readings, full), 5),
        "cascade": round(kind_score(readings, cascaded), 5),
        "cascade_minus_full_ci95": [round(v, 5) for v in bootstrap_ci(readings, cascaded, full, seed=seed)],
        "sent_on": round(float(np.mean([c.score < cascade.accept_above for c in crops])), 4) if crops else 0.0,
    }


def _calibrated(voting: KindVoting, result: EngineResult) -> EngineResult:
    return calibrate(result, voting.calibration.get(result.engine))


def main() -> None:
    """Fit a cascade for each kind of a fitted preset and write it into the preset."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", type=Path)
    parser.add_argument("--fit", type=Path, nargs="+", required=True, help="readings to fit on (ocr eval)")
    parser.add_argument("--check", type=Path, nargs="+", default=[], help="kept-apart readings to measure on")
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN)
    parser.add_argument("--kinds", default="", help="comma-separated kinds (default: every kind of the preset)")
    args = parser.parse_args()
    data = json.loads(args.preset.read_text(encoding="utf-8"))
    preset = parse_fitted_preset(str(args.preset), data)
    fit_groups, check_groups = kind_groups(load_readings(args.fit)), kind_groups(load_readings(args.check or []))
    wanted = [k for k in args.kinds.split(",") if k] or sorted(preset.kinds)
    records: dict[str, Any] = {}
    kinds = dict(preset.kinds)
    for kind in wanted:
        if kind not in fit_groups or kind not in kinds:
            continue
        fitted = fit_kind_cascade(fit_groups[kind], check_groups.get(kind, []), kinds[kind], args.margin)
        kinds[kind] = replace(kinds[kind], cascade=fitted.cascade)
        records[kind] = fitted.record
        print(kind, json.dumps({k: v for k, v in fitted.record.items() if k != "tried"}))
    fitted_record = {**preset.fitted, "cascade": records}
    save_fitted_preset(args.preset, replace(preset, kinds=kinds, fitted=fitted_record))


if __name__ == "__main__":
    main()
