"""Worker presence on Redis: each worker announces its queues on every Celery heartbeat.

``/ready`` reads these announcements to tell whether every enabled engine's queue has a live
consumer, without a broadcast round-trip to the workers.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import heartbeat_sent, worker_ready, worker_shutdown

from config.settings import get_settings
from jobs.sweeper import sweep
from workers.celery_app import celery_app
from workers.runtime import job_store

log = logging.getLogger(__name__)

_announcement: dict[str, Any] = {}


def _announce() -> None:
    if _announcement:
        ttl = get_settings().worker_stale_after_s
        job_store().publish_worker(_announcement["hostname"], _announcement["queues"], ttl)


@worker_ready.connect
def _on_ready(sender: Any, **_: object) -> None:
    _announcement["hostname"] = sender.hostname
    _announcement["queues"] = sorted(sender.app.amqp.queues.consume_from)
    _announce()


@heartbeat_sent.connect
def _on_heartbeat(**_: object) -> None:
    _announce()
    settings = get_settings()
    try:
        sweep(celery_app, job_store(), settings.stall_timeout_s, settings.sweep_interval_s)
    except Exception:  # Redis away: the next heartbeat tries again
        log.warning("could not sweep overdue jobs", exc_info=True)


@worker_shutdown.connect
def _on_shutdown(**_: object) -> None:
    if _announcement:
        job_store().remove_worker(_announcement["hostname"])
