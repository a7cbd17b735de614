"""What follows a job reaching succeeded or failed, wherever that happens (worker or API)."""

from __future__ import annotations

import json
import logging

from celery import Celery

from jobs.batches import is_batch, settle
from jobs.document_view import FINISHED, document_view
from jobs.queues import COMBINE_QUEUE
from jobs.store import JobStore
from jobs.webhooks import claim_delivery

log = logging.getLogger(__name__)


def job_finished(app: Celery, store: JobStore, job_id: str) -> None:
    """After a job reached succeeded or failed: it is no longer overdue, identical requests no longer join
    it, and its webhook starts (and its document's once the document's last page finished). Never raises:
    this must not fail the job."""
    try:
        fields = store.client.hmget(store.job_key(job_id), ["callback", "parent", "inflight_key"])
        callback, parent, inflight = (json.loads(raw) if raw else None for raw in fields)
        store.untrack_started(job_id)
        if inflight:
            store.end_in_flight(inflight, job_id)  # identical requests now get the cache or run
        if callback:
            _start_webhook(app, store, job_id)
        if parent:
            _parent_finished(app, store, parent)
    except Exception:
        log.exception("could not complete the follow-up of job %s", job_id)


def _parent_finished(app: Celery, store: JobStore, parent: str) -> None:
    """One of a job's children (a document's page, a batch's page item) finished: the batch settles when
    this was its last item; a document's webhook starts when this was its last page."""
    record = store.get_job(parent)
    if record is None:
        return
    if is_batch(record):
        if settle(store, parent):
            job_finished(app, store, parent)
    elif record.get("callback") and document_view(store, record)["status"] in FINISHED:
        _start_webhook(app, store, parent)


def _start_webhook(app: Celery, store: JobStore, job_id: str) -> None:
    if claim_delivery(store.client, job_id, store.result_ttl_s):
        app.send_task("ocr.deliver_webhook", args=(job_id,), queue=COMBINE_QUEUE, ignore_result=True)
