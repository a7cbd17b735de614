"""Starting a batch job: every item's cache lookup in one round trip, the images stored in one, the record
written in one, and one message for the whole batch (the worker side is :mod:`workers.batch_tasks`)."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

from celery import Celery

from jobs.batches import BatchItem, batch_fields, settle
from jobs.metrics import record_submission
from jobs.options import JobOptions
from jobs.pipeline import API_PUBLISH_RETRY, StoredImage, current_versions, new_job_id, queue_together, start_job
from jobs.queues import COMBINE_QUEUE
from jobs.store import JobStore, content_key


@dataclass(frozen=True)
class BatchEntry:
    """One image of a batch as the API checked it: its stored image and options, or why it was refused."""

    image: StoredImage | None = None
    options: JobOptions | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchRequest:
    """What a batch job is made of besides its images."""

    request_options: dict[str, Any]
    owner: str | None
    use_cache: bool
    info_max_age_s: float = 0.0


def start_batch_job(
    celery_app: Celery, store: JobStore, entries: list[BatchEntry], request: BatchRequest, job_id: str | None = None
) -> dict[str, Any]:
    """Create one job for all ``entries`` and return its record; items answered from the cache are done at
    once, refused ones are ``rejected``, page items start as page jobs of their own, and the rest are read
    by the workers after one ``ocr.start_batch`` message."""
    job_id = job_id or new_job_id()
    groups: dict[str, int] = {}
    group_options: dict[int, dict[str, Any]] = {}
    items: list[BatchItem] = []
    lookups: list[tuple[BatchItem, str]] = []
    pages: list[tuple[BatchItem, BatchEntry]] = []
    versions: dict[tuple[str, ...], dict[str, str] | None] = {}
    for index, entry in enumerate(entries):
        if entry.image is None or entry.options is None:
            items.append(BatchItem(index, "rejected", error=entry.error))
            continue
        image, options = entry.image, entry.options
        item = BatchItem(index, "queued", image.sha256, [image.width, image.height])
        items.append(item)
        if options.mode == "page":
            pages.append((item, entry))
            continue
        item.group = _group_number(groups, group_options, options)
        if request.use_cache:
            if options.engines not in versions:
                versions[options.engines] = current_versions(store, options.engines, request.info_max_age_s)
            engine_versions = versions[options.engines]
            if engine_versions is not None:
                lookups.append((item, content_key(image.sha256, options.cache_material(), engine_versions)))
    _answer_from_cache(store, lookups)
    for item in items:
        if item.group is not None:
            mode = group_options[item.group]["mode"]
            record_submission(mode, looked_up=request.use_cache, hit=item.cached)
    misses = {entry.image.sha256: entry.image.png for entry in entries if entry.image is not None}
    in_batch = {item.image_sha256 for item in items if item.group is not None and not item.finished}
    store.put_images({sha: png for sha, png in misses.items() if sha in in_batch})
    record = {
        "status": "queued",
        "batch": {"count": len(items)},
        "options": request.request_options,
        "submitted_epoch": time.time(),
        "cacheable": request.use_cache,
        "cached": False,
        "owner": request.owner,
        **batch_fields(items, group_options),
    }
    created = store.create_job(job_id, record)
    try:
        _start_pages(celery_app, store, job_id, pages, request)
        if any(item.group is not None and not item.finished for item in items):
            celery_app.send_task(
                "ocr.start_batch",
                args=(job_id,),
                queue=COMBINE_QUEUE,
                ignore_result=True,
                retry_policy=API_PUBLISH_RETRY,
            )
        elif settle(store, job_id):
            created = store.get_job(job_id) or created
    except Exception:
        # The broker refused the batch: recorded as failed rather than left queued forever.
        with contextlib.suppress(Exception):
            store.fail_job(job_id, "not_queued", "the batch could not be queued; retry the request")
        raise
    return created


def _group_number(groups: dict[str, int], group_options: dict[int, dict[str, Any]], options: JobOptions) -> int:
    """The number of the group of items sharing ``options`` (a new group for options not seen yet)."""
    known = groups.get(f"id:{id(options)}")  # the API resolves a batch's options once per mode: same object
    if known is not None:
        return known
    stored = options.to_dict()
    key = json.dumps(stored, sort_keys=True)
    if key not in groups:
        groups[key] = len(groups)
        group_options[groups[key]] = stored
    groups[f"id:{id(options)}"] = groups[key]
    return groups[key]


def _answer_from_cache(store: JobStore, lookups: list[tuple[BatchItem, str]]) -> None:
    """Every looked-up item's cached result, in one round trip: a hit is done at once."""
    found = store.get_many_cached([key for _, key in lookups])
    for (item, _), result in zip(lookups, found, strict=True):
        if result is not None:
            item.status, item.result, item.cached = "succeeded", result, True


def _start_pages(
    celery_app: Celery,
    store: JobStore,
    batch_id: str,
    pages: list[tuple[BatchItem, BatchEntry]],
    request: BatchRequest,
) -> None:
    """Start each page item as its own page job (it needs its own line detection), its item naming it."""
    if not pages:
        return
    jobs = []
    for item, entry in pages:
        assert entry.image is not None and entry.options is not None
        job = start_job(
            celery_app,
            store,
            entry.image,
            entry.options,
            request.use_cache,
            None,
            request.info_max_age_s,
            defer=True,
            extra={"parent": batch_id},
        )
        item.job_id = job["id"]
        jobs.append(job)
    store.set_fields(batch_id, batch_fields([item for item, _ in pages], {}))
    queue_together(celery_app, [job for job in jobs if job["status"] == "queued"])
