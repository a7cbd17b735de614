"""Jobs waiting to start together run as one group: each engine reads every job's image in one task and one
engine call, and the group is voted job by job. Jobs wait together when they arrive while the voting
worker is busy (concurrent clients) or are sent together (``/v1/batch_predict``).

A job of a group gets the same result as alone: the same engines read the same crops (our engines read
a batch as they read each crop alone), and the same :func:`~workers.tasks.finish` votes and stores it.
What changes is the cost: one task per engine for the whole group instead of one per job, one batched
engine call, and one voting task. Page jobs never group (each needs its own line detection first).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from config.settings import get_settings
from jobs.batches import is_batch
from jobs.options import JobOptions
from jobs.pipeline import group_key, queue_group_recognition, start_recognition
from jobs.queues import COMBINE_QUEUE
from jobs.store import JobStore
from workers.celery_app import celery_app
from workers.runtime import job_store
from workers.tasks import MAX_DELIVERIES, doubtful_crops, engine_failure, finish, read_each

log = logging.getLogger(__name__)
# How long a worker's claim to start a job holds before another may start it (it takes milliseconds).
CLAIM_TTL_S = 30


@celery_app.task(name="ocr.start", ignore_result=True, bind=True, max_retries=None)
def start(self: Task[Any, Any], job_id: str) -> None:
    """A new job's first step, which also starts the jobs waiting with it (up to ``OCR_GROUP_MAX_JOBS``).

    Jobs with identical options run as one group; a job alone, or a page job, runs by itself. Each job is
    claimed first (one worker starts it) and marked started once its tasks are queued. A job claimed by
    another worker is checked again after the claim's lifetime: if that worker died before queueing it,
    the claim has lapsed and this message starts it, so no job is lost.
    """
    store = job_store()
    limit = get_settings().group_max_jobs
    ids = list(dict.fromkeys([job_id, *store.take_waiting(limit - 1)]))
    fresh = store.claim_starts(ids, CLAIM_TTL_S)
    if job_id not in fresh and store.start_state(job_id) == "claimed":
        _start_claimed(store, fresh)
        raise self.retry(countdown=CLAIM_TTL_S)
    _start_claimed(store, fresh)


def _start_claimed(store: JobStore, fresh: list[str]) -> None:
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for found_id, job in store.get_jobs(fresh).items():
        if job is None:
            log.warning("job %s expired before it started", found_id)
            continue
        if job["status"] in ("succeeded", "failed"):
            # Finished, or failed as not_queued by the API (its client was answered 503 and retries): starting
            # it would run a job nobody waits for. A running one is started again: its chord may have died
            # with a worker or a Redis outage, and a second vote gives the same result.
            continue
        if is_batch(job):  # restarted by the sweeper: its unfinished items are queued again
            celery_app.send_task("ocr.start_batch", args=(found_id,), queue=COMBINE_QUEUE, ignore_result=True)
            continue
        groups.setdefault(group_key(job), []).append((found_id, job))
    for members in groups.values():
        options = JobOptions.from_dict(members[0][1]["options"])
        if len(members) == 1 or options.mode == "page":
            for member_id, job in members:
                start_recognition(celery_app, member_id, job["image_sha256"], options)
            continue
        ids_, images = [member_id for member_id, _ in members], [job["image_sha256"] for _, job in members]
        queue_group_recognition(celery_app, ids_, images, options, None)
    store.mark_started(fresh)
    store.track_started(fresh, get_settings().stall_timeout_s)


@celery_app.task(name="ocr.start_group", ignore_result=True)
def start_group(job_ids: list[str], images: list[str], options: dict[str, Any]) -> None:
    """Start jobs sent together with the same options as one group (page jobs one by one)."""
    resolved = JobOptions.from_dict(options)
    job_store().track_started(job_ids, get_settings().stall_timeout_s)
    if resolved.mode == "page" or len(job_ids) == 1:
        for job_id, image in zip(job_ids, images, strict=True):
            start_recognition(celery_app, job_id, image, resolved)
        return
    queue_group_recognition(celery_app, job_ids, images, resolved, None)


@celery_app.task(name="ocr.recognize_group")
def recognize_group(
    job_ids: list[str],
    engine_name: str,
    images: list[str],
    mode: str,
    top_k: int,
    steps: list[str] | None = None,
    languages: list[str] | None = None,
) -> dict[str, Any]:
    """Run one engine once on every job's image; returns ``{"engine", "jobs": {job_id: output}}`` where each
    output is what :func:`workers.tasks.recognize` returns for that job alone."""
    store = job_store()
    store.mark_all_running(job_ids)
    deliveries = store.count_delivery(f"group-{job_ids[0]}", engine_name)
    if deliveries > MAX_DELIVERIES:
        message = f"the engine's process died {deliveries - 1} times on this group of jobs"
        return _everyone(job_ids, engine_failure(engine_name, "crashed", message))
    read = read_each(engine_name, store.get_images(images), mode, top_k, steps, "a group", languages)
    return {"engine": engine_name, "jobs": dict(zip(job_ids, read, strict=True))}


@celery_app.task(name="ocr.escalate_group", ignore_result=True)
def escalate_group(outputs: list[dict[str, Any]], job_ids: list[str]) -> None:
    """After a group's cascade first stage: finish the jobs it was sure of; send the rest on, as a group."""
    store = job_store()
    doubtful: list[tuple[str, dict[str, Any]]] = []
    earlier: dict[str, list[dict[str, Any]]] = {}
    for job_id in job_ids:
        job = store.get_job(job_id)
        if job is None:
            continue
        mine = _of_job(outputs, job_id)
        options = JobOptions.from_dict(job["options"])
        if doubtful_crops(mine, options, None):
            doubtful.append((job_id, job))
            earlier[job_id] = mine
        else:
            finish(mine, job_id, job, options)
    if doubtful:
        options = JobOptions.from_dict(doubtful[0][1]["options"])
        ids, images = [job_id for job_id, _ in doubtful], [job["image_sha256"] for _, job in doubtful]
        queue_group_recognition(celery_app, ids, images, options, earlier)


@celery_app.task(name="ocr.combine_group", ignore_result=True)
def combine_group(
    outputs: list[dict[str, Any]], job_ids: list[str], earlier: dict[str, list[dict[str, Any]]] | None = None
) -> None:
    """Vote and store every job of a group (with a cascade's ``earlier`` outputs per job)."""
    store = job_store()
    for job_id in job_ids:
        job = store.get_job(job_id)
        if job is None:
            log.warning("job %s expired before it could be combined", job_id)
            continue
        mine = [*(earlier or {}).get(job_id, []), *_of_job(outputs, job_id)]
        finish(mine, job_id, job, JobOptions.from_dict(job["options"]))


@celery_app.task(name="ocr.group_failed", ignore_result=True)
def group_failed(request: Any, exc: BaseException, traceback: Any, job_ids: list[str]) -> None:
    """Chord error callback of a group (a task of it was killed, e.g. at the hard time limit): every
    unfinished job starts again alone, so one bad image fails only its own job, not its group."""
    store = job_store()
    log.warning("a group of %d jobs failed (%s): each starts again alone", len(job_ids), exc)
    for job_id, job in store.get_jobs(job_ids).items():
        if job is not None and job["status"] in ("queued", "running"):
            start_recognition(celery_app, job_id, job["image_sha256"], JobOptions.from_dict(job["options"]))


def _of_job(outputs: list[dict[str, Any]], job_id: str) -> list[dict[str, Any]]:
    return [output["jobs"][job_id] for output in outputs if job_id in output["jobs"]]


def _everyone(job_ids: list[str], output: dict[str, Any]) -> dict[str, Any]:
    return {"engine": output["engine"], "jobs": dict.fromkeys(job_ids, output)}
