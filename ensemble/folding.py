"""Folding letter forms on request: long s, ligatures, historical forms, diacritics.

By default a result keeps what is on the page (and what the engines read): a long s, a ligature, an accent
stay as read. A job's ``fold`` option names the forms to replace by their modern plain letters.
Folding is applied to every engine's reading before the vote, so the vote, the lines, the words and each
engine's view agree; a character that becomes several (``ﬃ`` -> ``ffi``) gives each its confidence, and
one that disappears (a lone combining accent) takes its confidence with it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from engines.base import CharCandidate, CharResult, EngineResult, TextResult, Word

FOLDS = ("long_s", "ligatures", "historical", "diacritics")
LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "\u017ft",  # long s + t: the long s then folds only when asked
    "\ufb06": "st",
}
# r rotunda and the double hyphen of Fraktur prints; a vowel with a combining small e above is its umlaut.
HISTORICAL = {"\ua75b": "r", "\u2e17": "-"}
OLD_UMLAUT = {"a": "ä", "o": "ö", "u": "ü", "A": "Ä", "O": "Ö", "U": "Ü"}
COMBINING_E = "\u0364"


def fold_text(text: str, confidences: Sequence[float], folds: Sequence[str]) -> tuple[str, tuple[float, ...]]:
    """``text`` with the forms in ``folds`` replaced, and one confidence per character of the result."""
    pairs = list(zip(text, confidences, strict=True))
    if "ligatures" in folds:
        pairs = [(out, conf) for char, conf in pairs for out in LIGATURES.get(char, char)]
    if "historical" in folds:
        pairs = _old_umlauts([(HISTORICAL.get(char, char), conf) for char, conf in pairs])
    if "long_s" in folds:
        pairs = [("s" if char == "\u017f" else char, conf) for char, conf in pairs]
    if "diacritics" in folds:
        pairs = [(base, conf) for char, conf in pairs for base in _without_marks(char)]
    return "".join(char for char, _ in pairs), tuple(conf for _, conf in pairs)


def fold_result(result: EngineResult, folds: Sequence[str]) -> EngineResult:
    """An engine's reading with ``folds`` applied (the same reading when there are none)."""
    if not folds:
        return result
    if isinstance(result, CharResult):
        return CharResult(
            result.engine, result.model_version, _folded_candidates(result.candidates, folds), result.elapsed_ms
        )
    text, confidences = fold_text(result.text, result.char_confidences, folds)
    words = tuple(Word(fold_text(w.text, [0.0] * len(w.text), folds)[0], w.confidence, w.box) for w in result.words)
    return TextResult(result.engine, result.model_version, text, confidences, result.elapsed_ms, words)


def _folded_candidates(candidates: Sequence[CharCandidate], folds: Sequence[str]) -> tuple[CharCandidate, ...]:
    """Each candidate folded; two that become the same keep the higher confidence, in rank order."""
    best: dict[str, float] = {}
    for candidate in candidates:
        char = fold_text(candidate.char, [0.0] * len(candidate.char), folds)[0]
        if char and candidate.confidence > best.get(char, -1.0):
            best[char] = candidate.confidence
    return tuple(CharCandidate(char, conf) for char, conf in sorted(best.items(), key=lambda item: -item[1]))


def _old_umlauts(pairs: list[tuple[str, float]]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for char, conf in pairs:
        if char == COMBINING_E and out and out[-1][0] in OLD_UMLAUT:
            previous, previous_conf = out.pop()
            out.append((OLD_UMLAUT[previous], min(previous_conf, conf)))
        else:
            out.append((char, conf))
    return out


def _without_marks(char: str) -> str:
    """The letter without its accents (``é`` -> ``e``; a lone combining mark -> nothing; ``ß``, ``œ`` kept)."""
    return "".join(part for part in unicodedata.normalize("NFD", char) if not unicodedata.combining(part))
