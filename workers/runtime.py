"""Per-process state of a worker: the job store and the engine pool, created after the fork."""

from __future__ import annotations

import contextlib

import numpy as np
from celery.signals import worker_process_init, worker_process_shutdown

from config.settings import get_settings
from engines.base import Engine, EngineError
from engines.registry import queue_for
from jobs.store import JobStore
from workers.pool import EnginePool

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
    preload_engines(consumed_queues())


def consumed_queues() -> set[str]:
    """The queues this worker was started for (set in the parent before the fork)."""
    from workers.celery_app import celery_app

    return set(celery_app.amqp.queues.consume_from or {})


def preload_engines(queues: set[str]) -> None:
    """Load, right after the fork, every enabled engine whose queue this worker consumes.

    The first task then does not pay for loading (seconds for torch models), and the worker only
    reports ready once its engines are in memory. A failure is remembered by the pool and reported by
    the tasks, so it never stops the worker.
    """
    pool = engine_pool()
    for name in get_settings().engines:
        if queue_for(name) in queues:
            # A failure is published by the pool and reported by the tasks.
            with contextlib.suppress(EngineError):
                warm_up(pool.get(name))


def warm_up(engine: Engine) -> None:
    """One recognition on a small synthetic line: torch engines pay seconds on their first call."""
    line = np.full((32, 96), 255, dtype=np.uint8)
    line[12:20, 8:88] = 0
    engine.recognize([line], "text")


@worker_process_shutdown.connect
def _close_engines(**_: object) -> None:
    if _pool is not None:
        _pool.close_all()
