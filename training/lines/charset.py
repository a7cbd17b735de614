"""The characters the line recognizer reads, and how training text is made to fit them.

The set is the Latin text set the PP-OCR adapter allows (ASCII, Latin-1 letters, common symbols) plus
what the real training lines hold: long s, r rotunda, the combining superscript e and o of old German
and Early New High German, the Gallicorpora line-end hyphen ``¬``, the double hyphen ``⸗``, French
ligatures. Long s and the other historical forms are kept as the sources write them (diplomatic);
folding them is a scoring or output option, not the model's job.
"""

from __future__ import annotations

import unicodedata

from engines.ctc import LATIN_TEXT

HISTORICAL = "\u017fꝛ¬⸗„\u201aœŒæÆẽṽćĴʳˢ†¹²³\u0364\u0366\u0303"  # long s, r rotunda, ...
# Index 0 is the CTC blank; every other index is one character of this string.
LINE_CHARSET = "".join(dict.fromkeys(LATIN_TEXT + HISTORICAL))
_SPACES = {"\u00a0": " ", "\u2009": " ", "\u202f": " ", "\t": " "}


def training_text(text: str, charset: str = LINE_CHARSET) -> str | None:
    """``text`` in NFC with odd spaces made plain and runs of spaces collapsed; None if a character is
    outside ``charset`` (such a line is left out of training rather than taught wrong)."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(_SPACES.get(char, char) for char in text)
    text = " ".join(text.split())
    if not text or any(char not in charset for char in text):
        return None
    return text
