"""Text normalisation applied to truth and readings alike before scoring.

The real sets' ground truth is diplomatic (``../shared/data/real-fit/README.md``): 19th-century German
prints keep the long s, r rotunda, the old umlaut (a vowel with a combining small e above) and the
double hyphen, which no modern engine produces. Scoring both sides after the same mapping measures
reading, not transcription conventions.
"""

from __future__ import annotations

import unicodedata

_SINGLE = str.maketrans({"\u017f": "s", "\ua75b": "r", "\u2e17": "-"})  # long s, r rotunda, double hyphen
_OLD_UMLAUTS = {
    "a\u0364": "ä",
    "o\u0364": "ö",
    "u\u0364": "ü",
    "A\u0364": "Ä",
    "O\u0364": "Ö",
    "U\u0364": "Ü",
}


def normalise(text: str) -> str:
    """NFC, then the historical forms mapped to their modern letters (applied to both sides of a score)."""
    text = unicodedata.normalize("NFC", text).translate(_SINGLE)
    for old, new in _OLD_UMLAUTS.items():
        text = text.replace(old, new)
    return text
