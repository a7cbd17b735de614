"""The worker side of a batch job: each engine reads a chunk of the batch's items in one task and one
engine call, one task votes the chunk and writes every item of it in one round trip.

A chunk is at most ``OCR_BATCH_CHUNK_ITEMS`` items of one option group; each chunk is a chord: one
``ocr.recognize_batch`` per engine of the stage, then ``ocr.combine_batch`` (or, with a cascade,
``ocr.escalate_batch``, which votes the items the first stage is sure of and sends the rest to the
later engines). An item gets the result it gets as a job alone: the same engines read the same crop
(our engines read a batch as they read each crop alone) and :func:`jobs.results.build_result` votes.

A chunk whose engine task is killed (hard time limit, a crash on every delivery) splits: ``ocr.batch_failed``
starts each of its unfinished items again as a chunk of its own, so only the bad image's item fails.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from celery import Celery, chord

from config.settings import get_settings
from engines.registry import queue_for
from jobs.batches import Batch, BatchItem, read_batch, settle, write_items
from jobs.completion import job_finished
from jobs.metrics import record_job_finished
from jobs.options import JobOptions
from jobs.pipeline import cache_entries
from jobs.planning import stages, voting_rule
from jobs.queues import COMBINE_QUEUE
from jobs.results import build_result
from jobs.store import JobStore
from workers.celery_app import celery_app
from workers.runtime import job_store
from workers.tasks import MAX_DELIVERIES, doubtful_crops, engine_failure, read_each

log = logging.getLogger(__name__)


@celery_app.task(name="ocr.start_batch", ignore_result=True)
def start_batch(batch_id: str) -> None:
    """Queue every unfinished item of the batch, in chunks per option group (also how the sweeper restarts
    a stalled batch: items that finished are not read again)."""
    store = job_store()
    batch = read_batch(store, batch_id)
    if batch is None or batch.job["status"] in ("succeeded", "failed"):
        return
    settings = get_settings()
    store.mark_running(batch_id)
    store.track_started([batch_id], settings.stall_timeout_s)
    for number in batch.groups:
        pending = batch.pending(number)
        options = batch.group_options(number)
        for start in range(0, len(pending), settings.batch_chunk_items):
            queue_chunk(celery_app, batch_id, number, options, pending[start : start + settings.batch_chunk_items])
    if settle(store, batch_id):
        job_finished(celery_app, store, batch_id)


def queue_chunk(
    app: Celery,
    batch_id: str,
    group: int,
    options: JobOptions,
    items: list[BatchItem],
    earlier: dict[str, list[dict[str, Any]]] | None = None,
) -> None:
    """Send one chunk's chord: each engine of the stage reads every item; ``earlier`` (item index -> the
    first stage's outputs) marks a cascade's later stage."""
    stage = stages(options)
    names = stage.later if earlier is not None else stage.first
    indexes = [item.index for item in items]
    images = [item.image_sha256 for item in items]
    rule = voting_rule(options)
    header = [
        app.signature(
            "ocr.recognize_batch",
            args=(
                batch_id,
                name,
                indexes,
                images,
                options.mode,
                options.top_k,
                rule.preprocess.get(name),
                list(options.languages) or None,
            ),
        ).set(queue=queue_for(name))
        for name in names
    ]
    where = {"batch_id": batch_id, "group": group, "indexes": indexes}
    if earlier is None and stage.later:
        callback = app.signature("ocr.escalate_batch", kwargs=where)
    else:
        callback = app.signature("ocr.combine_batch", kwargs={**where, "earlier": earlier})
    failed = app.signature("ocr.batch_failed", kwargs=where).set(queue=COMBINE_QUEUE)
    chord(header)(callback.set(queue=COMBINE_QUEUE).on_error(failed))


@celery_app.task(name="ocr.recognize_batch")
def recognize_batch(
    batch_id: str,
    engine_name: str,
    indexes: list[int],
    images: list[str],
    mode: str,
    top_k: int,
    steps: list[str] | None = None,
    languages: list[str] | None = None,
) -> dict[str, Any]:
    """Run one engine once on every item of a chunk; returns ``{"engine", "items": {index: output}}`` where
    each output is what :func:`workers.tasks.recognize` returns for that image alone."""
    store = job_store()
    deliveries = store.count_delivery(_chunk_id(batch_id, indexes), engine_name)
    if deliveries > MAX_DELIVERIES:
        message = f"the engine's process died {deliveries - 1} times on this chunk of the batch"
        return _everyone(engine_name, indexes, engine_failure(engine_name, "crashed", message))
    read = read_each(engine_name, store.get_images(images), mode, top_k, steps, f"batch {batch_id}", languages)
    outputs = {str(index): each for index, each in zip(indexes, read, strict=True)}
    output = {"engine": engine_name, "items": outputs}
    if len(indexes) == 1:  # a chunk of one (split after a kill): kept, so batch_failed can still vote it
        store.save_output(_chunk_id(batch_id, indexes), engine_name, outputs[str(indexes[0])])
    return output


@celery_app.task(name="ocr.escalate_batch", ignore_result=True)
def escalate_batch(outputs: list[dict[str, Any]], batch_id: str, group: int, indexes: list[int]) -> None:
    """After a chunk's cascade first stage: vote the items it was sure of; send the rest on, as one chunk."""
    store = job_store()
    batch = read_batch(store, batch_id)
    if batch is None:
        log.warning("batch %s expired before its cascade could go on", batch_id)
        return
    options = batch.group_options(group)
    sure: list[BatchItem] = []
    doubtful: list[BatchItem] = []
    earlier: dict[str, list[dict[str, Any]]] = {}
    for item in batch.items_at(indexes):
        mine = _of_item(outputs, item.index)
        if doubtful_crops(mine, options, None):
            doubtful.append(item)
            earlier[str(item.index)] = mine
        else:
            sure.append(voted(item, mine, options, batch.job["submitted_epoch"]))
    finish_items(store, batch, options, sure)
    if doubtful:
        queue_chunk(celery_app, batch_id, group, options, doubtful, earlier)


@celery_app.task(name="ocr.combine_batch", ignore_result=True)
def combine_batch(
    outputs: list[dict[str, Any]],
    batch_id: str,
    group: int,
    indexes: list[int],
    earlier: dict[str, list[dict[str, Any]]] | None = None,
) -> None:
    """Vote every item of a chunk (with a cascade's ``earlier`` outputs) and write them in one round trip."""
    store = job_store()
    batch = read_batch(store, batch_id)
    if batch is None:
        log.warning("batch %s expired before it could be combined", batch_id)
        return
    options = batch.group_options(group)
    epoch = batch.job["submitted_epoch"]
    done = [
        voted(item, [*(earlier or {}).get(str(item.index), []), *_of_item(outputs, item.index)], options, epoch)
        for item in batch.items_at(indexes)
    ]
    finish_items(store, batch, options, done)


@celery_app.task(name="ocr.batch_failed", ignore_result=True)
def batch_failed(
    request: Any, exc: BaseException, traceback: Any, batch_id: str, group: int, indexes: list[int]
) -> None:
    """Chord error callback of a chunk (a task of it was killed): with several unfinished items, each starts
    again as a chunk of its own; a chunk of one is voted with the engines that answered, the killed engine
    reported as failed (as a job alone would be)."""
    store = job_store()
    batch = read_batch(store, batch_id)
    if batch is None:
        return
    options = batch.group_options(group)
    pending = [item for item in batch.items_at(indexes) if not item.finished]
    if len(pending) > 1:
        log.warning("a chunk of %d items of batch %s failed (%s): each starts again alone", len(pending), batch_id, exc)
        for item in pending:
            queue_chunk(celery_app, batch_id, group, options, [item])
        return
    if not pending:
        return
    saved = store.saved_outputs(_chunk_id(batch_id, [pending[0].index]))
    message = f"the engine's task ended without a result: {exc}"
    missing = [engine_failure(name, "killed", message) for name in options.engines if name not in saved]
    item = voted(pending[0], [*saved.values(), *missing], options, batch.job["submitted_epoch"])
    finish_items(store, batch, options, [item])


def voted(item: BatchItem, outputs: list[dict[str, Any]], options: JobOptions, submitted_epoch: float) -> BatchItem:
    """The item with the vote over its engines' outputs, or failed when no engine produced anything."""
    result = build_result(outputs, options, None, item.image_size)
    if result is None:
        failures = "; ".join(f"{o['engine']}: {o['error']['message']}" for o in outputs)
        error = {"code": "all_engines_failed", "message": f"no engine produced a result ({failures})"}
        return dataclasses.replace(item, status="failed", error=error)
    result["processing_time_ms"] = round((time.time() - submitted_epoch) * 1000.0, 1)
    return dataclasses.replace(item, status="succeeded", result=result)


def finish_items(store: JobStore, batch: Batch, options: JobOptions, items: list[BatchItem]) -> None:
    """Write the voted items in one round trip, cache the complete results in one more, count them, and
    finish the batch when these were its last items."""
    if not items:
        return
    write_items(store, batch.id, items)
    epoch = batch.job["submitted_epoch"]
    for item in items:
        record_job_finished(options.mode, item.status, epoch, item.result)
    if batch.job.get("cacheable", True):
        _cache(store, options, items)
    if settle(store, batch.id):
        job_finished(celery_app, store, batch.id)


def _cache(store: JobStore, options: JobOptions, items: list[BatchItem]) -> None:
    """Cache each item's complete result under its own content key (:func:`jobs.pipeline.cache_entries`)."""
    reads = [(item.image_sha256, item.result) for item in items if item.result and item.image_sha256]
    entries = cache_entries(store, options, reads, get_settings().engine_info_max_age_s)
    if entries:
        store.put_many_cached(entries)


def _chunk_id(batch_id: str, indexes: list[int]) -> str:
    """The name a chunk's deliveries and saved outputs are kept under (its first item identifies it)."""
    return f"batch-{batch_id}-{indexes[0]}-{len(indexes)}"


def _of_item(outputs: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    return [output["items"][str(index)] for output in outputs if str(index) in output["items"]]


def _everyone(engine: str, indexes: list[int], output: dict[str, Any]) -> dict[str, Any]:
    return {"engine": engine, "items": {str(index): output for index in indexes}}
