"""CTC decoding of recogniser probabilities with a character-set restriction.

PP-OCR's multilingual dictionary sometimes answers a Latin glyph with a CJK or Greek look-alike, so
the adapter decodes the softmax output itself: disallowed symbols are masked before the argmax, each
character keeps the probability of its time steps, and character mode gets ranked alternatives.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BLANK = 0
CHAR_CLASSES = string.digits + string.ascii_uppercase + string.ascii_lowercase  # the EMNIST ByClass set
LATIN_TEXT = (
    string.printable.strip()
    + " "
    + "".join(chr(c) for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7))
    # Currency, degree, dashes, typographic quotes, ellipsis, bullet (as escapes).
    + "\u20ac\u00a3\u00a5\u00b0\u00a7\u00a9\u00ae\u00b1\u00b5\u2013\u2014\u2018\u2019\u201c\u201d\u2026\u2022"
)

Probabilities = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DecodedChar:
    """One decoded character: its probability and the time steps it spans (end exclusive)."""

    char: str
    confidence: float
    start: int
    end: int


def allowed_mask(characters: Sequence[str], allowed: str | None) -> npt.NDArray[np.bool_]:
    """A boolean mask over the dictionary (index 0 is the CTC blank); None allows everything."""
    mask = np.ones(len(characters), dtype=bool)
    if allowed is not None:
        allowed_set = set(allowed)
        mask[:] = [c in allowed_set for c in characters]
    mask[BLANK] = True
    return mask


def greedy_decode(probs: Probabilities, characters: Sequence[str], mask: npt.NDArray[np.bool_]) -> list[DecodedChar]:
    """Best path decoding: argmax per step over allowed symbols, merge repeats, drop blanks."""
    masked = np.where(mask[None, :], probs, 0.0)
    best = masked.argmax(axis=1)
    decoded: list[DecodedChar] = []
    step = 0
    while step < len(best):
        index = int(best[step])
        end = step + 1
        while end < len(best) and int(best[end]) == index:
            end += 1
        if index != BLANK:
            confidence = float(masked[step:end, index].max())
            decoded.append(DecodedChar(characters[index], confidence, step, end))
        step = end
    return decoded


def ranked_alternatives(
    probs: Probabilities, characters: Sequence[str], mask: npt.NDArray[np.bool_], top_k: int
) -> list[tuple[str, float]]:
    """For a one-character crop: the allowed symbols at the most confident non-blank step, ranked.

    Probabilities are renormalised over the allowed non-blank symbols of that step.
    """
    allowed = mask.copy()
    allowed[BLANK] = False
    masked = np.where(allowed[None, :], probs, 0.0)
    if masked.size == 0 or float(masked.max()) <= 0.0:
        return []
    step = int(masked.max(axis=1).argmax())
    row = masked[step]
    total = float(row.sum())
    order = np.argsort(-row, kind="stable")[:top_k]
    return [(characters[int(i)], float(row[int(i)]) / total) for i in order if row[int(i)] > 0.0]
