"""Liveness, readiness and status endpoints for operators and orchestrators."""

from __future__ import annotations

from typing import Any

import redis
from apiflask import APIBlueprint

from app.schemas import HealthOut, ReadyOut, StatusOut
from app.service import service
from jobs.languages import languages_by_engine

health_bp = APIBlueprint("health", __name__, tag="Health")
VERSION = "0.1.0"


def required_queues() -> list[str]:
    """Every queue that needs a live worker for the enabled engines to answer."""
    return service().required_queues()


@health_bp.get("/health")
@health_bp.output(HealthOut)
def health() -> dict[str, Any]:
    """The API process is alive (checks nothing else)."""
    return {"status": "ok"}


@health_bp.get("/ready")
@health_bp.output(ReadyOut)
@health_bp.doc(responses={503: "Not ready: Redis down or a queue without a live worker"})
def ready() -> tuple[dict[str, Any], int]:
    """Ready when Redis answers and every enabled engine's queue (and combine) has a live worker."""
    store = service().store
    if not store.ping():
        return {"ready": False, "redis": False, "missing_queues": required_queues()}, 503
    served = {queue for worker in store.live_workers() for queue in worker["queues"]}
    missing = [queue for queue in required_queues() if queue not in served]
    return {"ready": not missing, "redis": True, "missing_queues": missing}, 503 if missing else 200


@health_bp.get("/status")
@health_bp.output(StatusOut)
def status() -> dict[str, Any]:
    """Engines (as workers reported them), live workers, queue depths and presets."""
    svc = service()
    try:
        engines = svc.store.engine_info(svc.settings.engines)
        workers = svc.store.live_workers()
        queues = {name: int(svc.store.client.llen(name)) for name in required_queues()}
    except redis.RedisError:
        engines, workers, queues = {}, [], {}
    return {
        "version": VERSION,
        "engines": engines,
        "workers": workers,
        "queues": queues,
        "presets": sorted(svc.presets),
        "default_method": svc.settings.default_method,
        "default_preset": svc.settings.default_preset,
        "languages": languages_by_engine(svc.settings.engines, svc.settings),
        "default_languages": list(svc.settings.languages),
    }
