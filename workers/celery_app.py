"""The Celery application, built from the settings: one queue per engine plus ``combine``.

Start a worker with ``celery -A workers.celery_app worker -Q engine.tesseract,combine``
(or ``ocr worker``).
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from config.settings import Settings, get_settings
from engines.registry import queue_for
from jobs.queues import COMBINE_QUEUE

__all__ = ["COMBINE_QUEUE", "celery_app", "create_celery"]

WORKER_PUBLISH_RETRY = {"max_retries": 60, "interval_start": 0, "interval_step": 1, "interval_max": 1}


def create_celery(settings: Settings) -> Celery:
    """Build the Celery app with the reliability settings the job contract depends on."""
    app = Celery(
        "ocr",
        include=[
            "workers.tasks",
            "workers.group_tasks",
            "workers.batch_tasks",
            "workers.webhook_tasks",
            "workers.presence",
            "workers.worker_metrics",
        ],
    )
    queues = [Queue(queue_for(name)) for name in settings.engines] + [Queue(COMBINE_QUEUE)]
    transport_options = {
        "visibility_timeout": settings.visibility_timeout_s,
        # A dead worker's unacknowledged tasks are redelivered by the next scan after the
        # visibility timeout; scan on every tick instead of kombu's default of one tick in ten.
        "unacked_restore_interval": settings.unacked_restore_interval_s,
        "unacked_restore_throttle": 1,
    }
    app.conf.update(
        broker_url=settings.celery_broker_url,
        result_backend=settings.celery_result_backend,
        broker_transport_options=transport_options,
        result_backend_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        # A worker's publish waits for the broker (about a minute) instead of giving up after 0.6 s: a chord
        # callback that cannot be sent is lost otherwise (Celery then runs the error callback, which cannot
        # send either, and marks the chord done). The API sends with pipeline.API_PUBLISH_RETRY instead, so
        # a client gets its 503 at once.
        task_publish_retry_policy=WORKER_PUBLISH_RETRY,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_queues=queues,
        task_default_queue=COMBINE_QUEUE,
        task_create_missing_queues=False,
        # A job whose worker dies mid-task is redelivered, not lost.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_soft_time_limit=settings.task_soft_time_limit_s,
        task_time_limit=settings.task_time_limit_s,
        worker_prefetch_multiplier=1,
        # Pool processes load their engines right after the fork (torch models take seconds).
        worker_proc_alive_timeout=settings.engine_load_timeout_s,
        worker_max_tasks_per_child=settings.worker_max_tasks_per_child,
        worker_max_memory_per_child=settings.worker_max_memory_per_child_kb or None,
        result_expires=settings.result_ttl_s,
        worker_send_task_events=False,
    )
    return app


celery_app = create_celery(get_settings())
