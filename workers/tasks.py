"""Celery tasks: one recognition task per engine (each on its engine's queue) and the combine task.

A recognition task never raises: whatever goes wrong in an engine is returned as a failure entry,
so the chord always reaches ``combine`` and the other engines still vote.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from config.settings import get_settings
from engines.base import EngineError
from engines.steps import apply_steps
from jobs.completion import job_finished
from jobs.metrics import record_job_failure, record_job_finished
from jobs.options import JobOptions
from jobs.page_layout import encode_png, find_lines, recognition_image, transform_record, upright_page
from jobs.pipeline import cache_entries, queue_later_stage, queue_recognition
from jobs.planning import voting_rule
from jobs.results import build_result, calibrated, cascade_decisions, crop_readings
from jobs.store import JobStore, crop_box, decode_png
from workers.celery_app import celery_app
from workers.runtime import engine_pool, job_store

log = logging.getLogger(__name__)
# A task delivered more often than this was redelivered after its worker process died each time.
MAX_DELIVERIES = 3


def engine_failure(engine: str, code: str, message: str) -> dict[str, Any]:
    """The output of a recognition task that could not produce a result."""
    return {"engine": engine, "ok": False, "error": {"code": code, "message": message}}


@celery_app.task(name="ocr.recognize")
def recognize(
    job_id: str,
    engine_name: str,
    image_sha256: str,
    mode: str,
    top_k: int,
    boxes: list[list[int]] | None = None,
    steps: list[str] | None = None,
    indexes: list[int] | None = None,
    languages: list[str] | None = None,
) -> dict[str, Any]:
    """Run one engine on the job's image (or on each line box of it) and return its results as JSON.

    ``steps``: the optional preprocessing steps (:mod:`engines.steps`) the job's preset gives this engine.
    ``indexes``: which of the job's crops ``boxes`` are (a cascade's later stage reads only some).
    ``languages``: the job's languages (None: the engine's own default model).
    """
    store = job_store()
    store.mark_running(job_id)
    deliveries = store.count_delivery(job_id, engine_name)
    if deliveries > MAX_DELIVERIES:
        # Redelivered after killing its worker process each time (a crash or OOM on this input):
        # give up on this engine instead of looping, so the others still vote.
        return engine_failure(engine_name, "crashed", f"the engine's process died {deliveries - 1} times on this job")
    png = store.get_image(image_sha256)
    if png is None:
        return engine_failure(engine_name, "image_expired", "the stored image expired before this engine ran")

    def crops() -> list[Any]:
        image = decode_png(png)
        return [image] if boxes is None else [crop_box(image, box) for box in boxes]

    output = run_engine(engine_name, crops, mode, top_k, steps, job_id, languages)
    output = {**output, "indexes": indexes} if indexes is not None and output["ok"] else output
    # Kept for job_failed: if another engine's task is killed, the job is voted with this one.
    store.save_output(job_id, engine_name, output)
    return output


def run_engine(
    engine_name: str,
    crops: Callable[[], list[Any]],
    mode: str,
    top_k: int,
    steps: list[str] | None,
    where: str,
    languages: list[str] | None = None,
) -> dict[str, Any]:
    """One engine call on the crops ``crops()`` makes, as a recognition task's output: the results, or a
    failure entry for whatever went wrong (a time limit, an engine error, anything else). ``languages``:
    the engine reads with its model for them (the API sent only engines that can)."""
    try:
        engine = engine_pool().get(engine_name)
        if languages:
            engine = engine.for_languages(tuple(languages))
        images = crops()
        if steps:
            images = [apply_steps(crop, steps) for crop in images]
        results = engine.recognize(images, "char" if mode == "char" else "text", top_k)
    except EngineError as exc:
        if isinstance(exc.__cause__, SoftTimeLimitExceeded):  # an adapter wrapped the time limit
            return engine_failure(engine_name, "timeout", "the engine ran past its time limit")
        return engine_failure(engine_name, exc.code, str(exc))
    except SoftTimeLimitExceeded:
        return engine_failure(engine_name, "timeout", "the engine ran past its time limit")
    except Exception as exc:
        log.exception("engine %s failed on %s", engine_name, where)
        return engine_failure(engine_name, "failed", f"{type(exc).__name__}: {exc}")
    return {"engine": engine_name, "ok": True, "results": [result.to_dict() for result in results]}


def read_each(
    engine_name: str,
    pngs: list[bytes | None],
    mode: str,
    top_k: int,
    steps: list[str] | None,
    where: str,
    languages: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One engine call over every image still stored (None: expired); each image's output as
    :func:`recognize` gives it for that image alone, in the order of ``pngs``."""
    expired = engine_failure(engine_name, "image_expired", "the stored image expired before this engine ran")
    outputs = [expired] * len(pngs)
    present = [position for position, png in enumerate(pngs) if png is not None]
    if present:
        crops = lambda: [decode_png(pngs[position] or b"") for position in present]  # noqa: E731
        read = run_engine(engine_name, crops, mode, top_k, steps, where, languages)
        for order, position in enumerate(present):
            outputs[position] = {**read, "results": [read["results"][order]]} if read["ok"] else read
    return outputs


@celery_app.task(name="ocr.detect_lines", ignore_result=True)
def detect_lines(job_id: str, image_sha256: str, layout_engine: str) -> None:
    """Find the page's lines (reading order included), record them on the job, queue recognition."""
    store = job_store()
    store.mark_running(job_id)
    job = store.get_job(job_id)
    png = store.get_image(image_sha256)
    if job is None:
        log.warning("job %s expired before layout", job_id)
        return
    if png is None:
        store.fail_job(job_id, "image_expired", "the stored image expired before its lines were detected")
        job_finished(celery_app, store, job_id)
        return
    options = JobOptions.from_dict(job["options"])
    image, transform = decode_png(png), None
    engine = engine_pool().get(layout_engine)
    if options.upright:
        image, transform = upright_page(image, engine)
    layout = find_lines(image, engine)
    if transform is not None:
        # The engines read the upright page: stored beside the upload under its own digest.
        image_sha256, corrected = encode_png(image)
        store.put_image(image_sha256, corrected)
        layout.update(image_sha256=image_sha256, transform=transform_record(transform))
    store.set_layout(job_id, layout)
    queue_recognition(celery_app, job_id, image_sha256, options, layout["boxes"])


@celery_app.task(name="ocr.escalate", ignore_result=True)
def escalate(outputs: list[dict[str, Any]], job_id: str) -> None:
    """After a cascade's first stage: send the crops it was unsure of to the later engines, or finish."""
    store = job_store()
    job = store.get_job(job_id)
    if job is None:
        log.warning("job %s expired before its cascade could go on", job_id)
        return
    options = JobOptions.from_dict(job["options"])
    boxes = (job.get("layout") or {}).get("boxes")
    doubtful = doubtful_crops(outputs, options, boxes)
    if not doubtful:
        finish(outputs, job_id, job, options)
        return
    if options.mode == "page" and boxes:
        later_boxes, indexes = [boxes[index] for index in doubtful], doubtful
        queue_later_stage(celery_app, job_id, recognition_image(job), options, later_boxes, indexes, outputs)
    else:
        queue_later_stage(celery_app, job_id, recognition_image(job), options, None, None, outputs)


def doubtful_crops(outputs: list[dict[str, Any]], options: JobOptions, boxes: list[list[int]] | None) -> list[int]:
    """The crops a cascade's first stage (``outputs``) was unsure of, which the later engines must read."""
    crops = 1 if options.mode == "char" or not boxes else len(boxes)
    failed = {o["engine"] for o in outputs if not o["ok"]}
    rule = voting_rule(options)
    decisions = cascade_decisions(calibrated(crop_readings(outputs), rule), crops, options, failed, rule) or []
    return [index for index, (_, accepted) in enumerate(decisions) if not accepted]


@celery_app.task(name="ocr.combine", ignore_result=True)
def combine(outputs: list[dict[str, Any]], job_id: str, earlier: list[dict[str, Any]] | None = None) -> None:
    """Vote over the engines' outputs (and a cascade's ``earlier`` stage), store the result on the job
    and in the cache."""
    store = job_store()
    job = store.get_job(job_id)
    if job is None:
        log.warning("job %s expired before it could be combined", job_id)
        return
    finish([*(earlier or []), *outputs], job_id, job, JobOptions.from_dict(job["options"]))


def finish(outputs: list[dict[str, Any]], job_id: str, job: dict[str, Any], options: JobOptions) -> None:
    """Vote over a job's outputs and store the result (or the failure when no engine answered)."""
    store = job_store()
    result = build_result(outputs, options, job.get("layout"), job["image_size"])
    if result is None:
        failures = "; ".join(f"{o['engine']}: {o['error']['message']}" for o in outputs)
        store.fail_job(job_id, "all_engines_failed", f"no engine produced a result ({failures})")
        record_job_finished(options.mode, "failed", job["submitted_epoch"])
        job_finished(celery_app, store, job_id)
        return
    result["processing_time_ms"] = round((time.time() - job["submitted_epoch"]) * 1000.0, 1)
    # Cached before the job is marked finished: a client that sees it finished and sends the same request
    # again, or an identical request no longer joining it, finds the result in the cache.
    _cache_result(store, job, options, result)
    store.finish_job(job_id, result)
    record_job_finished(options.mode, "succeeded", job["submitted_epoch"], result)
    job_finished(celery_app, store, job_id)


def _cache_result(store: JobStore, job: dict[str, Any], options: JobOptions, result: dict[str, Any]) -> None:
    """Cache a complete result (:func:`jobs.pipeline.cache_entries`); a page whose layout step failed is not
    complete either."""
    if not job.get("cacheable", True) or (job.get("layout") or {}).get("error"):
        return
    entries = cache_entries(store, options, [(job["image_sha256"], result)], get_settings().engine_info_max_age_s)
    if entries:
        store.put_many_cached(entries)


@celery_app.task(name="ocr.job_failed", ignore_result=True)
def job_failed(request: Any, exc: BaseException, traceback: Any, job_id: str) -> None:
    """Chord error callback, after every task of the chord ended: a task died without returning (killed
    at the hard time limit). The engines that answered still vote, and each engine without an answer is
    reported as failed; a job with no answer at all (or whose layout step failed) is recorded as failed
    instead of being left queued forever."""
    store = job_store()
    job = store.get_job(job_id)
    if job is None or job["status"] not in ("queued", "running"):
        return
    saved = store.saved_outputs(job_id)
    if saved:
        options = JobOptions.from_dict(job["options"])
        message = f"the engine's task ended without a result: {exc}"
        missing = [engine_failure(name, "killed", message) for name in options.engines if name not in saved]
        finish([*saved.values(), *missing], job_id, job, options)
        return
    store.fail_job(job_id, "internal_error", f"the job could not be completed: {exc}")
    record_job_failure(store.get_job(job_id))
    job_finished(celery_app, store, job_id)
