"""The languages a job can ask for, and which of them an engine's character set can write.

Codes are ISO 639-2/T (``eng``, ``deu``, ``fra``: the names Tesseract's language data uses); the ISO 639-1
and 639-2/B spellings (``de``, ``ger``) are accepted and mean the same. Only Latin-script languages are
listed: every engine here reads Latin script, and a language is read by an engine only when its model
can write every letter of that language's alphabet (an English-only model would answer ``ä`` with ``a``).
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """One language: its code, its English name, and the letters it adds to the basic Latin a-z."""

    code: str
    name: str
    letters: str
    aliases: tuple[str, ...] = ()


BASIC_LATIN = string.ascii_letters
LANGUAGES: dict[str, Language] = {
    language.code: language
    for language in (
        Language("eng", "English", "", ("en",)),
        Language("deu", "German", "äöüßÄÖÜ", ("de", "ger")),
        # œ is left out: PP-OCR's recogniser and Latin-1 have no œ, and French text writes "oe" for it
        # often enough (and our real French lines hold none) that it should not shut an engine out.
        Language("fra", "French", "àâçéèêëîïôùûÀÂÇÉÈÊÎÔ", ("fr", "fre")),
        Language("ita", "Italian", "àèéìòùÀÈÉÌÒÙ", ("it",)),
        Language("spa", "Spanish", "áéíñóúüÁÉÍÑÓÚ", ("es",)),
        Language("por", "Portuguese", "áâãàçéêíóôõúÁÂÃÀÇÉÊÍÓÔÕÚ", ("pt",)),
        Language("nld", "Dutch", "éëïóöü", ("nl", "dut")),
    )
}
_ALIASES = {alias: language.code for language in LANGUAGES.values() for alias in (language.code, *language.aliases)}


class UnknownLanguage(ValueError):
    """A code that names no language we know."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown language {code[:40]!r}; known: {sorted(LANGUAGES)}")
        self.code = code


def canonical(code: str) -> str:
    """The ISO 639-2/T code for ``code`` (any case, 639-1 or 639-2/B); :class:`UnknownLanguage` otherwise."""
    found = _ALIASES.get(code.strip().lower())
    if found is None:
        raise UnknownLanguage(code)
    return found


def canonical_all(codes: Iterable[str]) -> tuple[str, ...]:
    """Each code made canonical, duplicates dropped, in the order given."""
    return tuple(dict.fromkeys(canonical(code) for code in codes))


def written_by(charset: Iterable[str]) -> frozenset[str]:
    """The languages whose every letter (basic Latin and its own) is in ``charset``."""
    characters = set(charset)
    if not set(BASIC_LATIN) <= characters:
        return frozenset()
    return frozenset(code for code, language in LANGUAGES.items() if set(language.letters) <= characters)
