"""Metrics of a set of predictions: accuracy overall, per group, case-insensitive, top-5, calibration."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from training.classes import CLASSES, GROUPS
from training.emnist import CharSet

Probabilities = npt.NDArray[np.float32]
Predictor = Callable[[npt.NDArray[np.uint8]], Probabilities]
_FOLDED = np.array([CLASSES.index(c.lower()) if c.isalpha() else i for i, c in enumerate(CLASSES)])
_GROUP_OF = np.array([next(g for g, members in GROUPS.items() if c in members) for c in CLASSES])


def predict_in_batches(predict: Predictor, images: npt.NDArray[np.uint8], batch_size: int = 512) -> Probabilities:
    """``predict`` over ``images`` in batches, stacked."""
    chunks = [predict(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, len(CLASSES)), np.float32)


def expected_calibration_error(confidence: npt.NDArray[np.floating[Any]], correct: npt.NDArray[np.bool_]) -> float:
    """ECE over 15 equal-width confidence bins: how far stated confidence is from accuracy."""
    edges = np.linspace(0.0, 1.0, 16)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(float(confidence[inside].mean()) - float(correct[inside].mean()))
    return total


def _scores(predicted: npt.NDArray[np.int64], labels: npt.NDArray[np.int64]) -> dict[str, float | int]:
    return {
        "n": len(labels),
        "accuracy": round(float((predicted == labels).mean()), 4),
        "case_insensitive": round(float((_FOLDED[predicted] == _FOLDED[labels]).mean()), 4),
    }


def metrics(probabilities: Probabilities, labels: npt.NDArray[np.int64]) -> dict[str, Any]:
    """Every metric of one test set; ``groups`` holds the scores of each group present in it."""
    predicted = probabilities.argmax(axis=1).astype(np.int64)
    top5 = np.argsort(-probabilities, axis=1)[:, :5]
    confidence = probabilities.max(axis=1)
    result: dict[str, Any] = _scores(predicted, labels)
    result["top5"] = round(float((top5 == labels[:, None]).any(axis=1).mean()), 4)
    result["mean_confidence"] = round(float(confidence.mean()), 4)
    result["ece"] = round(expected_calibration_error(confidence, predicted == labels), 4)
    groups = _GROUP_OF[labels]
    result["groups"] = {g: _scores(predicted[groups == g], labels[groups == g]) for g in GROUPS if (groups == g).any()}
    return result


def evaluate(predict: Predictor, dataset: CharSet) -> tuple[dict[str, Any], Probabilities]:
    """Metrics of ``predict`` on ``dataset`` and the probabilities it gave."""
    probabilities = predict_in_batches(predict, dataset.images)
    return metrics(probabilities, dataset.labels), probabilities


def confusion_matrix(probabilities: Probabilities, labels: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Counts ``[true, predicted]`` over the 62 classes."""
    matrix = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    np.add.at(matrix, (labels, probabilities.argmax(axis=1)), 1)
    return matrix


def top_confusions(matrix: npt.NDArray[np.int64], count: int = 15) -> list[dict[str, Any]]:
    """The most frequent (true -> predicted) mistakes."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None)[:count]
    pairs = [np.unravel_index(i, off.shape) for i in order]
    return [{"true": CLASSES[t], "predicted": CLASSES[p], "count": int(off[t, p])} for t, p in pairs if off[t, p] > 0]
