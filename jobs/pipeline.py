"""Starting a job: store the image once, write the job record, answer from the cache or queue a chord."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from celery import Celery, Signature, chord

from engines.registry import queue_for
from jobs.metrics import record_submission
from jobs.options import JobOptions
from jobs.planning import stages, voting_rule
from jobs.queues import COMBINE_QUEUE
from jobs.store import JobStore, content_key, now_iso

# How long an unfinished job may be joined by identical requests (a stuck job is not joined for ever).
INFLIGHT_TTL_S = 600
# The API's sends give up quickly (about 0.6 s): the client gets a 503 and retries.
API_PUBLISH_RETRY = {"max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


@dataclass(frozen=True)
class StoredImage:
    """What the pipeline needs of a validated upload."""

    sha256: str
    png: bytes
    width: int
    height: int


def new_job_id() -> str:
    """A fresh, unguessable job id."""
    return uuid.uuid4().hex


def lookup_key(store: JobStore, image_sha256: str, options: JobOptions, info_max_age_s: float = 0.0) -> str | None:
    """The content key for the engines' current model versions, or None if any is unknown.

    ``info_max_age_s``: how old this process's copy of the engines' versions may be (0: read Redis).
    """
    versions = current_versions(store, options.engines, info_max_age_s)
    return content_key(image_sha256, options.cache_material(), versions) if versions is not None else None


def current_versions(store: JobStore, engines: tuple[str, ...], info_max_age_s: float = 0.0) -> dict[str, str] | None:
    """Each engine's current model version, as its workers published it; None if any is unknown."""
    info = store.engine_info(list(engines), info_max_age_s)
    versions: dict[str, str] = {}
    for name in engines:
        engine = info.get(name)
        if not engine or not engine.get("available") or not engine.get("model_version"):
            return None
        versions[name] = engine["model_version"]
    return versions


def cache_entries(
    store: JobStore, options: JobOptions, reads: list[tuple[str, dict[str, Any]]], info_max_age_s: float = 0.0
) -> dict[str, dict[str, Any]]:
    """The cache entries (content key -> result) for finished results, given as (image digest, result).

    Only complete results are reused: one with a failed engine (a transient failure must not be served
    again) is left out. The key names every engine's current version, including engines a cascade did not
    need; a result read by another version than the key names is not stored under it.
    """
    versions = current_versions(store, options.engines, info_max_age_s)
    if versions is None:
        return {}
    material = options.cache_material()
    return {
        content_key(image_sha256, material, versions): result
        for image_sha256, result in reads
        if not result["failed_engines"]
        and all(versions.get(name) == version for name, version in result["model_versions"].items())
    }


def job_record(
    image: StoredImage, options: JobOptions, use_cache: bool, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The fields of a new job's record (queued), with ``extra`` fields."""
    return {
        "status": "queued",
        "options": options.to_dict(),
        "image_sha256": image.sha256,
        "image_size": [image.width, image.height],
        "submitted_epoch": time.time(),
        "cacheable": use_cache,
        "cached": False,
        "owner": options.cache_scope,
        **(extra or {}),
    }


def start_job(
    celery_app: Celery,
    store: JobStore,
    image: StoredImage,
    options: JobOptions,
    use_cache: bool,
    job_id: str | None = None,
    info_max_age_s: float = 0.0,
    defer: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create a job and return its record; a cache hit finishes it at once without any engine.

    ``defer``: write the queued job but send nothing; the caller starts it with others (:func:`queue_together`).
    ``extra``: more fields for the record (a callback, the document a page belongs to).
    """
    job_id = job_id or new_job_id()
    record = job_record(image, options, use_cache, extra)
    key = lookup_key(store, image.sha256, options, info_max_age_s) if use_cache else None
    cached = store.get_cached(key) if key else None
    record_submission(options.mode, looked_up=use_cache, hit=cached is not None)
    if cached is not None:
        done = {"status": "succeeded", "cached": True, "result": cached, "finished_at": now_iso()}
        return store.create_job(job_id, {**record, **done})
    if key is not None and not defer and not (extra or {}).get("callback"):
        joined = _join_in_flight(store, key, job_id)
        if joined is not None:
            return joined
        record["inflight_key"] = key
    store.put_image(image.sha256, image.png)
    created = store.create_job(job_id, record)
    if defer:
        return created
    try:
        queue_starts(celery_app, store, [job_id])
    except Exception:
        # The broker refused the job: record it as failed rather than leave it queued forever.
        with contextlib.suppress(Exception):
            store.fail_job(job_id, "not_queued", "the job could not be queued; retry the request")
        raise
    return created


def _join_in_flight(store: JobStore, key: str, job_id: str) -> dict[str, Any] | None:
    """The unfinished job already running the same work (same content key), which this request joins
    instead of running it twice; None when there is none, and ``job_id`` then leads for the key.

    Jobs with a callback, and jobs sent together (batches, a document's pages), always run as their own.
    """
    earlier = store.claim_in_flight(key, job_id, INFLIGHT_TTL_S)
    if earlier is None:
        return None
    joined = store.get_job(earlier)
    if joined is not None and joined["status"] in ("queued", "running"):
        return joined
    store.lead_in_flight(key, job_id, INFLIGHT_TTL_S)  # the earlier job finished or expired
    return None


def queue_starts(celery_app: Celery, store: JobStore, job_ids: list[str]) -> None:
    """Start new jobs: note them as waiting, and send each its own ``ocr.start`` message.

    One message per job from the API; a worker builds the chords. Chord set-up costs several broker round
    trips and subscribes the caller to every task's result channel: not the API's job. The worker that
    runs a start takes the other jobs waiting with it (:func:`workers.tasks.start`); their own messages
    then find them started. A job whose message is lost is never left behind: its message is delivered
    until a worker acknowledges it, after the job started.
    """
    store.add_waiting(job_ids)
    for job_id in job_ids:
        celery_app.send_task(
            "ocr.start", args=(job_id,), queue=COMBINE_QUEUE, ignore_result=True, retry_policy=API_PUBLISH_RETRY
        )


def start_recognition(celery_app: Celery, job_id: str, image_sha256: str, options: JobOptions) -> None:
    """The job's first step, run by a worker: find a page's lines first, else read the image."""
    if options.mode == "page" and options.layout_engine:
        # Lines first: the layout task queues the recognition chord once it knows the line boxes.
        detect = celery_app.signature("ocr.detect_lines", args=(job_id, image_sha256, options.layout_engine))
        detect.apply_async(queue=queue_for(options.layout_engine), link_error=_failed(celery_app, job_id))
    else:
        queue_recognition(celery_app, job_id, image_sha256, options, None)


def queue_recognition(
    celery_app: Celery, job_id: str, image_sha256: str, options: JobOptions, boxes: list[list[int]] | None
) -> None:
    """Send the chord: the first stage's engines read the image (or each box of it), then ``combine``
    votes, or with a cascade ``escalate`` sends the doubtful crops to the later engines."""
    stage = stages(options)
    header = [_recognize(celery_app, job_id, name, image_sha256, options, boxes, None) for name in stage.first]
    next_step = "ocr.escalate" if stage.later else "ocr.combine"
    callback = celery_app.signature(next_step, kwargs={"job_id": job_id}).set(queue=COMBINE_QUEUE)
    chord(header)(callback.on_error(_failed(celery_app, job_id)))


def queue_later_stage(
    celery_app: Celery,
    job_id: str,
    image_sha256: str,
    options: JobOptions,
    boxes: list[list[int]] | None,
    indexes: list[int] | None,
    earlier: list[dict[str, Any]],
) -> None:
    """Send the cascade's second chord: the later engines read the crops ``indexes`` (``boxes`` are
    theirs), then ``combine`` votes over these outputs and the first stage's ``earlier`` ones."""
    later = stages(options).later
    header = [_recognize(celery_app, job_id, name, image_sha256, options, boxes, indexes) for name in later]
    callback = celery_app.signature("ocr.combine", kwargs={"job_id": job_id, "earlier": earlier})
    chord(header)(callback.set(queue=COMBINE_QUEUE).on_error(_failed(celery_app, job_id)))


def queue_group_recognition(
    celery_app: Celery,
    job_ids: list[str],
    images: list[str],
    options: JobOptions,
    earlier: dict[str, list[dict[str, Any]]] | None,
) -> None:
    """Send a group's chord: each engine of the stage reads every job's image in one task.

    ``earlier`` (job -> outputs) marks the cascade's later stage; without it, the first stage (or the only one).
    """
    stage = stages(options)
    names = stage.later if earlier is not None else stage.first
    header = [
        celery_app.signature(
            "ocr.recognize_group",
            args=(
                job_ids,
                name,
                images,
                options.mode,
                options.top_k,
                voting_rule(options).preprocess.get(name),
                list(options.languages) or None,
            ),
        ).set(queue=queue_for(name))
        for name in names
    ]
    if earlier is None and stage.later:
        callback = celery_app.signature("ocr.escalate_group", kwargs={"job_ids": job_ids})
    else:
        callback = celery_app.signature("ocr.combine_group", kwargs={"job_ids": job_ids, "earlier": earlier})
    failed = celery_app.signature("ocr.group_failed", kwargs={"job_ids": job_ids}).set(queue=COMBINE_QUEUE)
    chord(header)(callback.set(queue=COMBINE_QUEUE).on_error(failed))


def group_key(job: dict[str, Any]) -> str:
    """Jobs can run as one group when every option is the same (their engines then read the same way)."""
    return json.dumps(job["options"], sort_keys=True)


def queue_together(celery_app: Celery, jobs: list[dict[str, Any]]) -> None:
    """Start jobs sent together (created with ``defer=True``; their records) as groups of identical options:
    one message per group, and a worker forms the group's chord. They never wait for other jobs."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        groups.setdefault(group_key(job), []).append(job)
    for members in groups.values():
        args = ([job["id"] for job in members], [job["image_sha256"] for job in members], members[0]["options"])
        celery_app.send_task(
            "ocr.start_group", args=args, queue=COMBINE_QUEUE, ignore_result=True, retry_policy=API_PUBLISH_RETRY
        )


def _recognize(
    celery_app: Celery,
    job_id: str,
    engine: str,
    image_sha256: str,
    options: JobOptions,
    boxes: list[list[int]] | None,
    indexes: list[int] | None,
) -> Signature:
    steps = voting_rule(options).preprocess.get(engine) or None
    languages = list(options.languages) or None
    args = (job_id, engine, image_sha256, options.mode, options.top_k, boxes, steps, indexes, languages)
    return celery_app.signature("ocr.recognize", args=args).set(queue=queue_for(engine))


def _failed(celery_app: Celery, job_id: str) -> Signature:
    return celery_app.signature("ocr.job_failed", kwargs={"job_id": job_id}).set(queue=COMBINE_QUEUE)
