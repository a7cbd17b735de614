"""Prometheus metrics of the job pipeline: jobs, the result cache, engines and the ensemble vote.

Samples are recorded in whichever process does the work (gunicorn workers: submissions and cache
lookups; Celery pool processes: engine tasks, votes, finished jobs) and exposed by each service's
``/metrics``. Under gunicorn and Celery's prefork pool, ``PROMETHEUS_MULTIPROC_DIR`` must name an
empty directory of that service instance *before* ``prometheus_client`` is imported: every process
then writes its samples there and :func:`metrics_registry` adds them up at scrape time.

Label values are bounded: engines come from the enabled set, modes from ``jobs.options.Mode``,
failure reasons from the engine error codes; anything else is reported as ``other``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, Metric, multiprocess

from engines.base import BadImage, EngineError, EngineFailure, EngineTimeout, EngineUnavailable
from jobs.options import Mode

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OTHER = "other"
MODES = frozenset(get_args(Mode))
# Engine error codes plus the codes the recognition task itself reports (see workers/tasks.py).
FAILURE_REASONS = frozenset(
    {cls.code for cls in (EngineError, EngineUnavailable, EngineTimeout, BadImage, EngineFailure)}
    | {"image_expired", "timeout", "failed"}
)
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
RATIO_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)

JOBS_SUBMITTED = Counter("ocr_jobs_submitted_total", "Jobs accepted by the API.", ["mode"])
JOBS_FINISHED = Counter(
    "ocr_jobs_finished_total",
    "Jobs that reached a final status (cache hits finish in the API, the rest in a worker).",
    ["status", "mode"],
)
JOB_DURATION = Histogram(
    "ocr_job_duration_seconds",
    "From submission to the stored result, for jobs the engines ran (not cache hits).",
    ["mode"],
    buckets=SECONDS_BUCKETS,
)
CACHE_LOOKUPS = Counter(
    "ocr_cache_lookups_total",
    "Result cache lookups of jobs that allow the cache; a miss includes jobs whose model versions are not yet known.",
    ["result"],
)
ENGINE_TASKS = Counter(
    "ocr_engine_tasks_total", "Recognitions (one per job) by engine and outcome.", ["engine", "outcome"]
)
ENGINE_FAILURES = Counter(
    "ocr_engine_failures_total", "Recognition tasks that produced no result, by reason.", ["engine", "reason"]
)
ENGINE_DURATION = Histogram(
    "ocr_engine_duration_seconds",
    "Time a worker spent on one successful recognition task (image fetch, decode, recognition).",
    ["engine", "mode"],
    buckets=SECONDS_BUCKETS,
)
ENSEMBLE_AGREEMENT = Histogram(
    "ocr_ensemble_agreement_ratio",
    "Share of the voted slots on which every engine agreed (characters: 1 or 0).",
    ["mode"],
    buckets=RATIO_BUCKETS,
)
ENSEMBLE_CONFIDENCE = Histogram(
    "ocr_ensemble_confidence_ratio", "Confidence of the voted result.", ["mode"], buckets=RATIO_BUCKETS
)


def bounded(value: object, allowed: frozenset[str] | set[str] | list[str]) -> str:
    """``value`` when it is one of ``allowed``, else ``other`` (keeps label values bounded)."""
    return value if isinstance(value, str) and value in allowed else OTHER


def initialize_api_series() -> None:
    """Create the API's counters at zero for every known label value, so a first increase shows in rate()."""
    for mode in MODES:
        JOBS_SUBMITTED.labels(mode)
        JOBS_FINISHED.labels("succeeded", mode)
    for result in ("hit", "miss"):
        CACHE_LOOKUPS.labels(result)


def initialize_worker_series(engines: list[str]) -> None:
    """Create a worker's counters at zero for the engines it serves and every mode and status."""
    for engine in engines:
        for outcome in ("succeeded", "failed"):
            ENGINE_TASKS.labels(engine, outcome)
    for mode in MODES:
        for status in ("succeeded", "failed"):
            JOBS_FINISHED.labels(status, mode)


def record_submission(mode: str, looked_up: bool, hit: bool) -> None:
    """Count an accepted job, its cache lookup, and its completion when the cache answered it."""
    mode = bounded(mode, MODES)
    JOBS_SUBMITTED.labels(mode).inc()
    if looked_up:
        CACHE_LOOKUPS.labels("hit" if hit else "miss").inc()
    if hit:
        JOBS_FINISHED.labels("succeeded", mode).inc()


def record_job_finished(mode: str, status: str, submitted_epoch: float, result: dict[str, Any] | None = None) -> None:
    """Count a job the engines ran, observe its end-to-end latency and, when it succeeded, its vote."""
    mode = bounded(mode, MODES)
    JOBS_FINISHED.labels(bounded(status, {"succeeded", "failed"}), mode).inc()
    JOB_DURATION.labels(mode).observe(max(0.0, time.time() - submitted_epoch))
    if result is not None:
        ENSEMBLE_AGREEMENT.labels(mode).observe(float(result["agreement"]))
        ENSEMBLE_CONFIDENCE.labels(mode).observe(float(result["confidence"]))


def record_job_failure(job: dict[str, Any] | None) -> None:
    """Count a job that failed outside the vote (the chord's error callback)."""
    mode = (job or {}).get("options", {}).get("mode")
    JOBS_FINISHED.labels("failed", bounded(mode, MODES)).inc()


def record_engine_task(engine: str, mode: str, output: dict[str, Any], seconds: float | None) -> None:
    """Count one job's recognition by an engine from its output (see ``workers.tasks.recognize``) and time
    the engine task (``seconds``; None for the other jobs of a group, whose one task was timed already)."""
    if output.get("ok"):
        ENGINE_TASKS.labels(engine, "succeeded").inc()
        if seconds is not None:
            ENGINE_DURATION.labels(engine, bounded(mode, MODES)).observe(seconds)
    else:
        ENGINE_TASKS.labels(engine, "failed").inc()
        ENGINE_FAILURES.labels(engine, bounded(output.get("error", {}).get("code"), FAILURE_REASONS)).inc()


def multiprocess_dir() -> Path | None:
    """The directory the processes of this service write their samples to, if multiprocess mode is on."""
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def prepare_multiprocess_dir(path: Path) -> None:
    """Create ``path`` empty: samples of an earlier run must not be added to this one's."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


class _ThisProcess:
    """This process's default registry, as a collector of another registry."""

    def collect(self) -> Iterable[Metric]:
        """Every metric of the default registry."""
        return REGISTRY.collect()


def metrics_registry() -> CollectorRegistry:
    """A fresh registry with every process's samples (multiprocess mode) or this process's own."""
    registry = CollectorRegistry()
    path = multiprocess_dir()
    if path is None:
        registry.register(_ThisProcess())
    else:
        multiprocess.MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    return registry


def mark_process_dead(pid: int) -> None:
    """Drop the live-gauge samples of an exited process (no-op outside multiprocess mode)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
