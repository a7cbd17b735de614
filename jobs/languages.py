"""The ``languages`` option: codes checked, and the job's engines limited to those that can read them all.

What an engine reads comes from its adapter (:meth:`engines.base.Engine.languages`: Tesseract's installed
language packs, the character set of a CTC recogniser), known without loading any model and kept for a
minute, so a language pack installed while the API runs is seen soon without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from config.languages import LANGUAGES, UnknownLanguage, canonical_all
from config.settings import Settings
from engines.registry import load_engine_class
from ensemble.folding import FOLDS
from jobs.errors import InvalidOptions

# How long what an engine can read is remembered (language packs may be installed meanwhile).
KEEP_S = 60.0
_known: dict[str, tuple[float, frozenset[str]]] = {}


@dataclass(frozen=True)
class JobLanguages:
    """The job's languages, the engines that read them all, and why the others are left out."""

    languages: tuple[str, ...]
    engines: tuple[str, ...]
    skipped: dict[str, str]


def engine_languages(name: str, settings: Settings) -> frozenset[str]:
    """What engine ``name`` can read here (empty when its adapter cannot be imported)."""
    now = time.monotonic()
    kept = _known.get(name)
    if kept is not None and now - kept[0] < KEEP_S:
        return kept[1]
    try:
        found = load_engine_class(name, settings.engine_plugins).languages(settings)
    except (ImportError, KeyError, TypeError):
        found = frozenset()
    _known[name] = (now, found)
    return found


def languages_by_engine(names: Sequence[str], settings: Settings) -> dict[str, list[str]]:
    """Each engine's languages, sorted (for ``/status``)."""
    return {name: sorted(engine_languages(name, settings)) for name in names}


def resolve_languages(
    requested: Sequence[str] | None, engines: Sequence[str], named: bool, settings: Settings
) -> JobLanguages:
    """The job's languages (``requested``, else the settings') and the engines among ``engines`` that read
    every one of them. ``named``: the client listed the engines, so one that cannot read them is a 422
    rather than left out. A code we do not know, or one that none of the engines reads, is a 422 naming it."""
    try:
        languages = canonical_all(requested) if requested else tuple(settings.languages)
    except UnknownLanguage as exc:
        raise InvalidOptions(422, "unsupported_language", str(exc)) from exc
    reads = {name: engine_languages(name, settings) for name in engines}
    lacking = {code: [name for name in engines if code not in reads[name]] for code in languages}
    for code, names in lacking.items():
        if names and (named or len(names) == len(engines)):
            readers = [name for name in settings.engines if code in engine_languages(name, settings)]
            message = (
                f"{code} ({LANGUAGES[code].name}) cannot be read by {names}: no language data or letters for it "
                f"here; engines that read it: {readers or 'none'}"
            )
            raise InvalidOptions(422, "unsupported_language", message)
    skipped = {
        name: f"cannot read {', '.join(code for code in languages if name in lacking[code])}: no language data here"
        for name in engines
        if any(name in lacking[code] for code in languages)
    }
    running = tuple(name for name in engines if name not in skipped)
    return JobLanguages(languages, running, skipped)


def language_preset(default: str, languages: Sequence[str], presets: Collection[str]) -> str:
    """The preset a job that names none votes with: ``<default>-<language>`` (e.g. ``general-deu``, fitted on
    that language's lines) when the job reads one language and such a preset exists, else ``default``."""
    if len(languages) == 1 and f"{default}-{languages[0]}" in presets:
        return f"{default}-{languages[0]}"
    return default


def checked_folds(folds: Sequence[str] | None) -> tuple[str, ...]:
    """The ``fold`` option, in :data:`ensemble.folding.FOLDS` order; a 422 for a name that is not a fold (a
    multipart form's comma-separated list is not checked by the schema)."""
    unknown = [name for name in folds or () if name not in FOLDS]
    if unknown:
        raise InvalidOptions(422, "invalid_request", f"fold: {unknown[0][:40]!r} is not one of {list(FOLDS)}")
    return tuple(name for name in FOLDS if name in (folds or ()))
