"""Worker-side metrics: time every recognition task, and serve ``/metrics`` from the worker's main process.

Under the prefork pool the main process empties this worker's ``PROMETHEUS_MULTIPROC_DIR`` before the
pool starts, then serves the sum of its pool processes' samples on
``OCR_WORKER_METRICS_HOST:OCR_WORKER_METRICS_PORT`` (port 0 turns the endpoint off). The Celery app
lists this module in ``include``, so every worker connects these signal handlers.
"""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any

from celery import Task
from celery.signals import (
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from prometheus_client import start_http_server

from config.settings import get_settings
from engines.registry import queue_for
from jobs.metrics import (
    bounded,
    initialize_worker_series,
    mark_process_dead,
    metrics_registry,
    multiprocess_dir,
    prepare_multiprocess_dir,
    record_engine_task,
)

log = logging.getLogger(__name__)

RECOGNIZE_TASK = "ocr.recognize"
GROUP_TASK = "ocr.recognize_group"  # one engine call for a group of jobs: one recognition per job
_task_started: dict[str, float] = {}
_servers: list[Any] = []


@task_prerun.connect
def _start_task_clock(task_id: str, task: Task[Any, Any], **_: object) -> None:
    if task.name in (RECOGNIZE_TASK, GROUP_TASK):
        _task_started[task_id] = time.perf_counter()


@task_postrun.connect
def _count_recognition(
    task_id: str, task: Task[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], **extra: Any
) -> None:
    started = _task_started.pop(task_id, None)
    if task.name not in (RECOGNIZE_TASK, GROUP_TASK) or started is None:
        return
    seconds = time.perf_counter() - started
    call = inspect.signature(task.run).bind_partial(*args, **kwargs).arguments
    output = extra.get("retval")
    if not isinstance(output, dict):  # the task raised, against its contract
        output = {"ok": False, "error": {"code": "failed"}}
    engine = bounded(call.get("engine_name"), get_settings().engines)
    outputs = list(output["jobs"].values()) if isinstance(output.get("jobs"), dict) else [output]
    for number, job_output in enumerate(outputs):
        # A group's engine call is timed once; each job's recognition is counted.
        record_engine_task(engine, str(call.get("mode")), job_output, seconds if number == 0 else None)


@worker_init.connect
def _empty_metrics_dir(**_: object) -> None:
    path = multiprocess_dir()
    if path is not None:
        prepare_multiprocess_dir(path)


@worker_ready.connect
def _serve_metrics(sender: Any, **_: object) -> None:
    settings = get_settings()
    consumed = set(sender.app.amqp.queues.consume_from)
    initialize_worker_series([engine for engine in settings.engines if queue_for(engine) in consumed])
    if not settings.worker_metrics_port:
        return
    if multiprocess_dir() is None:
        log.warning("PROMETHEUS_MULTIPROC_DIR is not set: /metrics shows this process only, not its pool's tasks")
    address = f"{settings.worker_metrics_host}:{settings.worker_metrics_port}"
    try:
        server, _thread = start_http_server(
            settings.worker_metrics_port, settings.worker_metrics_host, registry=metrics_registry()
        )
    except OSError as exc:
        log.error("worker metrics are not served: cannot listen on %s: %s", address, exc)
        return
    _servers.append(server)
    log.info("worker metrics on http://%s/metrics", address)


@worker_shutdown.connect
def _stop_serving_metrics(**_: object) -> None:
    while _servers:
        server = _servers.pop()
        server.shutdown()
        server.server_close()


@worker_process_shutdown.connect
def _forget_pool_process(pid: int, **_: object) -> None:
    mark_process_dead(pid)
