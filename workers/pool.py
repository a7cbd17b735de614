"""The engines of one worker process, loaded lazily (after the fork) and kept for its lifetime."""

from __future__ import annotations

import logging
import time

from config.settings import Settings
from engines.base import Engine, EngineUnavailable
from engines.registry import load_engine_class
from jobs.store import JobStore, now_iso

log = logging.getLogger(__name__)

# How long a failed load is remembered before the next task tries again (weights may appear).
RETRY_LOAD_AFTER_S = 30.0
# How often a loaded engine's version is published again (its record expires with OCR_RESULT_TTL_S).
REPUBLISH_AFTER_S = 600.0


class EnginePool:
    """Engine instances by name; a load failure becomes :class:`EngineUnavailable` with its reason."""

    def __init__(self, settings: Settings, store: JobStore) -> None:
        self._settings = settings
        self._store = store
        self._engines: dict[str, Engine] = {}
        self._failures: dict[str, tuple[str, float]] = {}
        self._published: dict[str, float] = {}

    def get(self, name: str) -> Engine:
        """The loaded engine, loading it on first use."""
        if name in self._engines:
            engine = self._engines[name]
            # Keep the published version fresh: the API's cache lookups need it, and it expires.
            if time.monotonic() - self._published.get(name, 0.0) > REPUBLISH_AFTER_S:
                self._publish(name, {"available": True, "model_version": engine.model_version})
            return engine
        failure = self._failures.get(name)
        if failure and time.monotonic() - failure[1] < RETRY_LOAD_AFTER_S:
            raise EngineUnavailable(failure[0])
        return self._load(name)

    def close_all(self) -> None:
        """Release every engine's native resources."""
        for engine in self._engines.values():
            try:
                engine.close()
            except Exception:
                log.exception("closing engine %s failed", engine.name)
        self._engines.clear()

    def _load(self, name: str) -> Engine:
        started = time.perf_counter()
        try:
            engine = load_engine_class(name, self._settings.engine_plugins).from_settings(self._settings)
        except EngineUnavailable as exc:
            return self._unavailable(name, str(exc))
        except Exception as exc:
            log.exception("loading engine %s failed", name)
            return self._unavailable(name, f"loading failed: {type(exc).__name__}: {exc}")
        self._engines[name] = engine
        self._failures.pop(name, None)
        load_ms = round((time.perf_counter() - started) * 1000, 1)
        log.info("engine %s %s loaded in %s ms", name, engine.model_version, load_ms)
        self._publish(name, {"available": True, "model_version": engine.model_version})
        return engine

    def _unavailable(self, name: str, reason: str) -> Engine:
        self._failures[name] = (reason, time.monotonic())
        self._publish(name, {"available": False, "reason": reason, "model_version": None})
        raise EngineUnavailable(reason)

    def _publish(self, name: str, info: dict[str, object]) -> None:
        self._published[name] = time.monotonic()
        try:
            self._store.publish_engine(name, {**info, "updated_at": now_iso()})
        except Exception:
            log.warning("could not publish engine info for %s", name, exc_info=True)
