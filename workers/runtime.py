"""Per-process state of a worker: the job store and the engine pool, created after the fork."""

from __future__ import annotations

from celery.signals import worker_process_init, worker_process_shutdown

from config.settings import get_settings
from workers.pool import EnginePool
from workers.store import JobStore

_store: JobStore | None = None
_pool: EnginePool | None = None


def job_store() -> JobStore:
    """This process's connection to the job store."""
    global _store
    if _store is None:
        settings = get_settings()
        _store = JobStore.from_url(settings.redis_url, settings.image_ttl_s, settings.result_ttl_s)
    return _store


def engine_pool() -> EnginePool:
    """This process's engines, each loaded on first use."""
    global _pool
    if _pool is None:
        _pool = EnginePool(get_settings(), job_store())
    return _pool


@worker_process_init.connect
def _fresh_state_after_fork(**_: object) -> None:
    # Sockets and native engine handles must never be shared with the parent process.
    global _store, _pool
    _store, _pool = None, None


@worker_process_shutdown.connect
def _close_engines(**_: object) -> None:
    if _pool is not None:
        _pool.close_all()
