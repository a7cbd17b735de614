"""A request's options resolved into a job's options: the mode its image decides, the engines that can read
its languages, the preset and weights it votes with and the fitted voting for its kind of crop.

Free of HTTP: what cannot be resolved is an :class:`jobs.errors.InvalidOptions`, which the API answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from config.settings import Settings
from engines.preprocess import crop_to_ink, dark_ink_on_light, ink_runs, stretch_contrast, text_bands
from ensemble import InvalidPresets, UnknownPreset, resolve_weights
from ensemble.fitted import FittedPreset
from ensemble.kinds import FALLBACK, Kind, job_kind
from jobs.errors import InvalidOptions
from jobs.images import ValidatedImage
from jobs.languages import checked_folds, language_preset, resolve_languages
from jobs.options import JobOptions, Mode, RequestedMode
from jobs.planning import without_silent_engines


@dataclass(frozen=True)
class OptionSources:
    """What resolution reads besides the request.

    ``settings``: the deployment's with the runtime configuration applied; ``presets``: every weight preset
    (the runtime configuration's replacing same-named ones); ``fitted``: the presets fitted by ``ocr
    calibrate``; ``overridden``: the presets the runtime configuration gave other weights, whose fitted
    method and calibration no longer apply.
    """

    settings: Settings
    presets: dict[str, dict[str, float]]
    fitted: dict[str, FittedPreset]
    overridden: frozenset[str]


def resolve_options(
    raw: dict[str, Any], image: ValidatedImage, sources: OptionSources, owner: str | None = None
) -> JobOptions:
    """Turn request options into a job's options (engines checked, weights chosen); ``owner`` is the API key
    the job will belong to (it scopes the cache)."""
    settings = sources.settings
    engines = tuple(raw.get("engines") or settings.engines)
    disabled = [name for name in engines if name not in settings.engines]
    if disabled:
        shown = [name[:40] for name in disabled[:5]]  # never echo a client's megabyte back
        raise InvalidOptions(422, "unknown_engine", f"not enabled here: {shown}; enabled: {settings.engines}")
    read = resolve_languages(raw.get("languages"), tuple(dict.fromkeys(engines)), bool(raw.get("engines")), settings)
    default_preset = language_preset(settings.default_preset, read.languages, sources.presets)
    try:
        weights = resolve_weights(sources.presets, raw.get("preset"), raw.get("weights"), default_preset)
    except UnknownPreset as exc:
        raise InvalidOptions(422, "unknown_preset", str(exc)) from exc
    except InvalidPresets as exc:  # e.g. an explicit JSON weight that is not a finite number >= 0
        raise InvalidOptions(422, "invalid_weights", str(exc)) from exc
    check_request_weights(raw.get("weights"), settings)
    # The API's schema admits only the modes of RequestedMode.
    requested = cast(RequestedMode, raw.get("mode") or "auto")
    mode = decide_mode(image, requested)
    preset = raw.get("preset") or (None if raw.get("weights") else default_preset)
    # A preset fitted by `ocr calibrate` also brings its voting method and calibrations, unless the
    # runtime configuration gave it other weights.
    fitted = sources.fitted.get(preset) if preset and preset not in sources.overridden else None
    options = JobOptions(
        mode=mode,
        engines=read.engines,
        method=raw.get("method") or (fitted.method if fitted else settings.default_method),
        weights=weights,
        requested_mode=requested,
        preset=preset,
        top_k=raw.get("top_k") or settings.top_k,
        layout_engine=layout_engine(settings) if mode == "page" else None,
        calibration={name: cal.to_dict() for name, cal in fitted.calibration.items()} if fitted else {},
        kinds=kind_voting(fitted, raw, job_kind(mode, raw.get("content"))),
        content=raw.get("content"),
        cascade=raw.get("cascade", True),
        upright=raw.get("upright", True),
        cache_scope=owner,
        skipped_engines=read.skipped,
        languages=read.languages,
        folds=checked_folds(raw.get("fold")),
    )
    return without_silent_engines(options, named=bool(raw.get("engines")))


def check_request_weights(weights: dict[str, float] | None, settings: Settings) -> None:
    """A request's own weights must name enabled engines and give at least one a say."""
    if not weights:
        return
    unknown = sorted(name for name in weights if name not in settings.engines)
    if unknown:
        shown = [name[:40] for name in unknown[:5]]
        raise InvalidOptions(422, "unknown_engine", f"weights name engines not enabled here: {shown}")
    if not any(weight > 0 for weight in weights.values()):
        raise InvalidOptions(422, "invalid_weights", "every weight is 0: at least one engine needs a say")


def layout_engine(settings: Settings) -> str:
    """The engine that finds lines for page jobs: the first enabled of ``OCR_LAYOUT_ENGINES``."""
    for name in settings.layout_engines:
        if name in settings.engines:
            return name
    raise InvalidOptions(422, "no_layout_engine", f"page mode needs one of {settings.layout_engines} enabled")


def kind_voting(fitted: FittedPreset | None, raw: dict[str, Any], kind: Kind) -> dict[str, dict[str, Any]]:
    """The fitted preset's voting for the job's kind (under the kind it came from, following the
    fallbacks), unless the request chose its own weights or method. Only this one travels with the job:
    the others cannot change its result, and every job record would carry them."""
    if fitted is None or raw.get("weights") or raw.get("method"):
        return {}
    current: Kind | None = kind
    while current is not None:
        if current in fitted.kinds:
            return {current: fitted.kinds[current].to_dict()}
        current = FALLBACK[current]
    return {}


def decide_mode(image: ValidatedImage, requested: str) -> Mode:
    """Resolve the requested mode from the image's ink.

    ``char``, ``line`` and ``page`` are taken as asked. ``text`` is a line when the image holds one
    row of text cropped close to it, else a page (lines are detected first). ``auto`` is also a
    character when the ink is one blob no wider than 1.6 times its height.
    """
    if requested in ("char", "line", "page"):
        return cast(Mode, requested)
    gray = dark_ink_on_light(image.gray)
    ink = crop_to_ink(gray, margin_ratio=0.0, min_margin=1)
    if ink is None:
        # Faint or low-contrast text (a photographed sign) is below the fixed ink contrast: stretch it.
        gray = stretch_contrast(gray)
        ink = crop_to_ink(gray, margin_ratio=0.0, min_margin=1)
    if ink is None:
        return "char" if requested == "auto" else "line"
    height, width = ink.shape
    if requested == "auto" and ink_runs(ink) == 1 and width <= 1.6 * height:
        return "char"
    # One row of text with little paper around it; a small line in a large image needs detection.
    one_row = text_bands(ink) == 1 and gray.shape[0] <= 3 * height + 48
    return "line" if one_row else "page"
