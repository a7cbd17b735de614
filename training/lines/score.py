"""Greedy CTC reading with the torch model and CER per group (training-time validation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from rapidfuzz.distance import Levenshtein

from engines.line_input import pad_batch, prepare_line
from training.lines.charset import LINE_CHARSET

BATCH = 8


def decode(indices: Sequence[int]) -> str:
    """Best-path CTC: merge repeats, drop blanks (index 0)."""
    out, previous = [], 0
    for index in indices:
        if index != previous and index != 0:
            out.append(LINE_CHARSET[index - 1])
        previous = index
    return "".join(out).strip()


def greedy_texts(model: torch.nn.Module, images: Sequence[np.ndarray], device: str) -> list[str]:
    """Each image read on its own width (batched by similar width), greedy decoding."""
    prepared = [prepare_line(image) for image in images]
    order = sorted(range(len(prepared)), key=lambda i: prepared[i].shape[2])
    texts = [""] * len(prepared)
    with torch.inference_mode():
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            batch = torch.from_numpy(pad_batch([prepared[i] for i in chunk])).to(device)
            best = model(batch).argmax(-1).cpu().numpy()
            for i, row in zip(chunk, best, strict=True):
                texts[i] = decode(row.tolist())
    return texts


def cer_by_group(predictions: Sequence[str], truths: Sequence[str], groups: Sequence[str]) -> dict[str, Any]:
    """Corpus CER (edits over truth length) per group and for all lines."""
    totals: dict[str, list[int]] = {}
    for prediction, truth, group in zip(predictions, truths, groups, strict=True):
        edits = Levenshtein.distance(prediction, truth)
        for key in (group, "all"):
            entry = totals.setdefault(key, [0, 0, 0])
            entry[0] += edits
            entry[1] += len(truth)
            entry[2] += 1
    return {key: {"cer": round(e / max(1, n), 4), "lines": c} for key, (e, n, c) in sorted(totals.items())}
