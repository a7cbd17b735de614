"""Confidence calibration fitted on labelled readings: per engine (Platt) and for a vote (isotonic).

A Platt mapping per engine is fitted by maximum likelihood (scipy) on (confidence, correct) pairs: for
characters the top-1 answer, for text every character of the engine's reading aligned with the truth
(rapidfuzz). Weights and methods are fitted per kind of crop in :mod:`evaluation.fitting`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein
from scipy.optimize import isotonic_regression, minimize

from ensemble.calibration import IsotonicCalibration, PlattCalibration
from evaluation.normalize import normalise
from evaluation.readings import Reading

EPS = 1e-6


def confidence_samples(readings: Sequence[Reading], engine: str) -> tuple[list[float], list[bool]]:
    """(confidence, correct) pairs for one engine: per character answer, or per read character of text."""
    confidences: list[float] = []
    correct: list[bool] = []
    for reading in readings:
        truth = reading.item.truth
        if reading.item.kind == "char":
            result = reading.chars.get(engine)
            if result and result.top:
                confidences.append(result.top.confidence)
                correct.append(result.top.char == truth)
            continue
        texts = [line[engine] for line in reading.lines if engine in line and line[engine].text]
        text = "\n".join(t.text for t in texts)
        truth = normalise(truth)
        char_conf = [c for i, t in enumerate(texts) for c in ((1.0,) if i else ()) + t.char_confidences]
        matched = matched_positions(text, truth)
        for position, confidence in enumerate(char_conf):
            if text[position] != "\n":
                confidences.append(confidence)
                correct.append(position in matched)
    return confidences, correct


def matched_positions(hypothesis: str, truth: str) -> set[int]:
    """Positions of ``hypothesis`` that an optimal alignment matches to the same character in ``truth``."""
    matched: set[int] = set()
    for block in Levenshtein.opcodes(hypothesis, truth):
        if block.tag == "equal":
            matched.update(range(block.src_start, block.src_end))
    return matched


def fit_platt(confidences: Sequence[float], correct: Sequence[bool]) -> PlattCalibration:
    """Maximum-likelihood ``sigmoid(a * logit(p) + b)``; identity when there is too little to fit."""
    if len(confidences) < 10 or all(correct) or not any(correct):
        return PlattCalibration()
    p = np.clip(np.asarray(confidences, dtype=float), EPS, 1 - EPS)
    x = np.log(p / (1 - p))
    y = np.asarray(correct, dtype=float)

    def loss(params: np.ndarray) -> float:
        z = params[0] * x + params[1]
        # log(1 + exp(z)) - y * z, the logistic log-loss, computed stably.
        return float(np.mean(np.logaddexp(0.0, z) - y * z)) + 1e-4 * float(params @ params)

    found = minimize(loss, x0=np.array([1.0, 0.0]), method="L-BFGS-B")
    a, b = (float(v) for v in found.x)
    return PlattCalibration(a, b) if math.isfinite(a) and math.isfinite(b) else PlattCalibration()


def fit_isotonic(confidences: Sequence[float], correct: Sequence[bool]) -> IsotonicCalibration:
    """Isotonic regression (scipy) of correctness on confidence, kept as its steps."""
    order = np.argsort(np.asarray(confidences, dtype=float), kind="stable")
    x = np.asarray(confidences, dtype=float)[order]
    y = np.asarray(correct, dtype=float)[order]
    fitted = isotonic_regression(y)
    blocks = list(zip(fitted.blocks[:-1], fitted.blocks[1:], strict=True))
    thresholds = [float(x[start]) for start, _ in blocks]
    # Laplace's rule per step (a step of 3 right out of 3 is not a certainty), kept non-decreasing.
    smoothed = [(float(y[start:stop].sum()) + 1.0) / (stop - start + 2.0) for start, stop in blocks]
    values = np.maximum.accumulate(np.asarray(smoothed)).tolist()
    thresholds[0] = 0.0  # the first step covers every confidence below the data
    return IsotonicCalibration(tuple(thresholds), tuple(float(v) for v in values))
