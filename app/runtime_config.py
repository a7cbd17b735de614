"""Runtime configuration: what an admin changes with ``PUT /v1/config`` without restarting anything.

Stored in Redis (``ocr:config``, one JSON document with a version), read by every API process at most
``OCR_RUNTIME_CONFIG_MAX_AGE_S`` old, and each change appended to an audit log (``ocr:config:audit``).
It overlays the deployment's settings: the default preset and method, the engines new jobs may use (a
subset of ``OCR_ENGINES``), weights per preset, and limits that may only be lowered below the
deployment's. A job carries the options they resolved to, so the workers read each job the way the
configuration said when it was submitted, and the cache key changes with them.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from config.languages import UnknownLanguage, canonical_all
from config.settings import Settings
from jobs.store import PREFIX, now_iso

CONFIG_KEY = f"{PREFIX}config"
AUDIT_KEY = f"{PREFIX}config:audit"
AUDIT_KEEP = 1000
METHODS = ("weighted", "confidence", "majority", "select")
LIMITS = ("max_pages", "max_batch_images", "max_upload_bytes", "max_image_pixels")
PRESET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class InvalidConfig(ValueError):
    """A change that cannot be applied; ``field`` names what is wrong."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


class VersionConflict(Exception):
    """The configuration changed since the version the caller based its change on."""


@dataclass(frozen=True)
class RuntimeConfig:
    """The runtime configuration; None or empty means the deployment's settings apply."""

    version: int = 0
    default_preset: str | None = None
    default_method: str | None = None
    engines: list[str] | None = None
    presets: dict[str, dict[str, float]] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    # The languages a job reads when it names none (ISO 639-2 codes).
    languages: list[str] | None = None
    updated_at: str | None = None
    updated_by: str | None = None

    def overlay(self, settings: Settings) -> Settings:
        """The deployment's settings with this configuration applied."""
        update: dict[str, Any] = dict(self.limits)
        if self.default_preset:
            update["default_preset"] = self.default_preset
        if self.default_method:
            update["default_method"] = self.default_method
        if self.engines:
            update["engines"] = list(self.engines)
        if self.languages:
            update["languages"] = list(self.languages)
        return settings.model_copy(update=update) if update else settings


def validated(current: RuntimeConfig, changes: dict[str, Any], base: Settings, presets: set[str]) -> RuntimeConfig:
    """``current`` with ``changes`` applied; raises :class:`InvalidConfig` naming the field at fault.

    ``presets``: the names the deployment knows; ``base``: the deployment's settings (the ceiling of limits
    and the set of engines).
    """
    unknown = sorted(set(changes) - {"default_preset", "default_method", "engines", "presets", "limits", "languages"})
    if unknown:
        raise InvalidConfig(unknown[0][:40], "not a configurable field")
    merged = {**asdict(current), **changes}
    new_presets = _presets(merged.get("presets") or {}, base)
    known = presets | set(new_presets)
    preset = merged.get("default_preset")
    if preset is not None and preset not in known:
        raise InvalidConfig("default_preset", f"unknown preset {str(preset)[:40]!r}; known: {sorted(known)}")
    method = merged.get("default_method")
    if method is not None and method not in METHODS:
        raise InvalidConfig("default_method", f"must be one of {METHODS}")
    return RuntimeConfig(
        version=current.version,
        default_preset=preset,
        default_method=method,
        engines=_engines(merged.get("engines"), base),
        presets=new_presets,
        limits=_limits(merged.get("limits") or {}, base),
        languages=_languages(merged.get("languages")),
    )


def _languages(languages: Any) -> list[str] | None:
    if languages is None:
        return None
    if not isinstance(languages, list) or not languages or not all(isinstance(c, str) for c in languages):
        raise InvalidConfig("languages", "a non-empty list of ISO 639 codes")
    try:
        return list(canonical_all(languages))
    except UnknownLanguage as exc:
        raise InvalidConfig("languages", str(exc)) from exc


def _engines(engines: Any, base: Settings) -> list[str] | None:
    if engines is None:
        return None
    if not isinstance(engines, list) or not engines or not all(isinstance(e, str) for e in engines):
        raise InvalidConfig("engines", "a non-empty list of engine names")
    outside = [name[:40] for name in engines if name not in base.engines]
    if outside:
        raise InvalidConfig("engines", f"not enabled in this deployment: {outside[:5]}; enabled: {base.engines}")
    return list(dict.fromkeys(engines))


def _presets(presets: Any, base: Settings) -> dict[str, dict[str, float]]:
    if not isinstance(presets, dict):
        raise InvalidConfig("presets", "an object of preset name -> {engine: weight}")
    checked: dict[str, dict[str, float]] = {}
    for name, weights in presets.items():
        where = f"presets.{str(name)[:40]}"
        if not isinstance(name, str) or not PRESET_NAME.match(name):
            raise InvalidConfig(where, "a preset name is 1-40 letters, digits, '_' or '-'")
        if not isinstance(weights, dict) or not weights:
            raise InvalidConfig(where, "an object of engine -> weight")
        for engine, weight in weights.items():
            if engine not in base.engines:
                raise InvalidConfig(f"{where}.{str(engine)[:40]}", "not an engine enabled here")
            if not isinstance(weight, int | float) or isinstance(weight, bool) or not math.isfinite(weight):
                raise InvalidConfig(f"{where}.{engine}", "a weight is a finite number")
            if weight < 0:
                raise InvalidConfig(f"{where}.{engine}", "a weight is 0 or more")
        if not any(weight > 0 for weight in weights.values()):
            raise InvalidConfig(where, "at least one engine needs a weight above 0")
        checked[name] = {engine: float(weight) for engine, weight in weights.items()}
    return checked


def _limits(limits: Any, base: Settings) -> dict[str, int]:
    if not isinstance(limits, dict):
        raise InvalidConfig("limits", f"an object with any of {LIMITS}")
    checked: dict[str, int] = {}
    for name, value in limits.items():
        if name not in LIMITS:
            raise InvalidConfig(f"limits.{str(name)[:40]}", f"not a limit; limits: {LIMITS}")
        ceiling = int(getattr(base, name))
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= ceiling:
            raise InvalidConfig(f"limits.{name}", f"an integer from 1 to the deployment's {ceiling}")
        checked[name] = value
    return checked


@dataclass
class ConfigStore:
    """The runtime configuration on Redis, with this process's copy."""

    client: redis.Redis
    max_age_s: float = 1.0
    _copy: tuple[float, RuntimeConfig] | None = field(default=None, repr=False)

    def fresh(self) -> RuntimeConfig:
        """The configuration as stored now."""
        self._copy = None
        return self.current()

    def current(self) -> RuntimeConfig:
        """The configuration, at most ``max_age_s`` old."""
        now = time.monotonic()
        if self._copy is not None and now - self._copy[0] < self.max_age_s:
            return self._copy[1]
        try:
            raw = self.client.get(CONFIG_KEY)
        except redis.RedisError:
            # Redis is away: keep what we had (or the deployment's settings) rather than fail every request;
            # whatever needs Redis next answers 503.
            return self._copy[1] if self._copy is not None else RuntimeConfig()
        config = RuntimeConfig(**json.loads(raw)) if raw else RuntimeConfig()
        self._copy = (now, config)
        return config

    def replace(
        self, config: RuntimeConfig, expected_version: int, actor: str, changes: dict[str, Any]
    ) -> RuntimeConfig:
        """Store ``config`` as the next version if the stored one is still ``expected_version``; audit it."""
        try:
            return self._replace(config, expected_version, actor, changes)
        except redis.WatchError as exc:
            raise VersionConflict("the configuration changed meanwhile; read it again") from exc

    def _replace(
        self, config: RuntimeConfig, expected_version: int, actor: str, changes: dict[str, Any]
    ) -> RuntimeConfig:
        with self.client.pipeline() as pipe:
            pipe.watch(CONFIG_KEY)
            raw = pipe.get(CONFIG_KEY)
            stored = json.loads(raw)["version"] if raw else 0
            if stored != expected_version:
                raise VersionConflict(f"the configuration is at version {stored}, not {expected_version}")
            saved = RuntimeConfig(
                **{**asdict(config), "version": stored + 1, "updated_at": now_iso(), "updated_by": actor}
            )
            entry = {"version": saved.version, "at": saved.updated_at, "by": actor, "changes": changes}
            pipe.multi()
            pipe.set(CONFIG_KEY, json.dumps(asdict(saved)))
            pipe.lpush(AUDIT_KEY, json.dumps(entry))
            pipe.ltrim(AUDIT_KEY, 0, AUDIT_KEEP - 1)
            pipe.execute()
        self._copy = (time.monotonic(), saved)
        return saved

    def audit(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest changes, newest first."""
        return [json.loads(raw) for raw in self.client.lrange(AUDIT_KEY, 0, max(0, limit - 1))]
