"""Celery tasks: one recognition task per engine (each on its engine's queue) and the combine task.

A recognition task never raises: whatever goes wrong in an engine is returned as a failure entry,
so the chord always reaches ``combine`` and the other engines still vote.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from engines.base import EngineError
from workers.celery_app import celery_app
from workers.options import JobOptions
from workers.results import build_result
from workers.runtime import engine_pool, job_store
from workers.store import content_key, decode_png

log = logging.getLogger(__name__)


def engine_failure(engine: str, code: str, message: str) -> dict[str, Any]:
    """The output of a recognition task that could not produce a result."""
    return {"engine": engine, "ok": False, "error": {"code": code, "message": message}}


@celery_app.task(name="ocr.recognize")
def recognize(job_id: str, engine_name: str, image_sha256: str, mode: str, top_k: int) -> dict[str, Any]:
    """Run one engine on the job's image and return its result (or its failure) as JSON."""
    store = job_store()
    store.mark_running(job_id)
    png = store.get_image(image_sha256)
    if png is None:
        return engine_failure(engine_name, "image_expired", "the stored image expired before this engine ran")
    try:
        engine = engine_pool().get(engine_name)
        result = engine.recognize([decode_png(png)], "char" if mode == "char" else "text", top_k)[0]
    except EngineError as exc:
        return engine_failure(engine_name, exc.code, str(exc))
    except SoftTimeLimitExceeded:
        return engine_failure(engine_name, "timeout", "the engine ran past its time limit")
    except Exception as exc:
        log.exception("engine %s failed on job %s", engine_name, job_id)
        return engine_failure(engine_name, "failed", f"{type(exc).__name__}: {exc}")
    return {"engine": engine_name, "ok": True, "result": result.to_dict()}


@celery_app.task(name="ocr.combine", ignore_result=True)
def combine(outputs: list[dict[str, Any]], job_id: str) -> None:
    """Vote over the engines' outputs, store the result on the job and in the cache."""
    store = job_store()
    job = store.get_job(job_id)
    if job is None:
        log.warning("job %s expired before it could be combined", job_id)
        return
    options = JobOptions.from_dict(job["options"])
    result = build_result(outputs, options)
    if result is None:
        failures = "; ".join(f"{o['engine']}: {o['error']['message']}" for o in outputs)
        store.fail_job(job_id, "all_engines_failed", f"no engine produced a result ({failures})")
        return
    result["processing_time_ms"] = round((time.time() - job["submitted_epoch"]) * 1000.0, 1)
    store.finish_job(job_id, result)
    # Only complete results are reused: a transient engine failure must not be served again.
    if job.get("cacheable", True) and not result["failed_engines"]:
        key = content_key(job["image_sha256"], options.cache_material(), result["model_versions"])
        store.put_cached(key, result)


@celery_app.task(name="ocr.job_failed", ignore_result=True)
def job_failed(request: Any, exc: BaseException, traceback: Any, job_id: str) -> None:
    """Chord error callback: record the job as failed instead of leaving it queued forever."""
    job_store().fail_job(job_id, "internal_error", f"the job could not be completed: {exc}")
