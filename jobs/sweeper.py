"""The sweeper: a started job that has not finished long after it should have is started again.

A job's tasks are redelivered when a worker dies holding them, but its chord can still die: a vote that
could not be sent while Redis was down, a group's error callback killed with its worker. Nothing would
then ever finish the job. Every started job is noted with a deadline (``OCR_STALL_TIMEOUT_S``); on each
heartbeat one worker (a short Redis lock) sends a new ``ocr.start`` for the overdue ones. A job started
twice votes twice over the same engines' readings: the same answer.
"""

from __future__ import annotations

import logging

from celery import Celery

from jobs.queues import COMBINE_QUEUE
from jobs.store import PREFIX, JobStore

log = logging.getLogger(__name__)
LOCK_KEY = f"{PREFIX}sweeping"


def sweep(app: Celery, store: JobStore, stall_s: float, every_s: float) -> list[str]:
    """Restart the overdue jobs, if no other worker swept within ``every_s``; returns their ids."""
    if not store.client.set(LOCK_KEY, "1", nx=True, ex=max(1, int(every_s))):
        return []
    restarted = []
    for job_id in store.overdue():
        job = store.get_job(job_id)
        if job is None or job["status"] in ("succeeded", "failed"):
            store.untrack_started(job_id)
            continue
        log.warning("job %s is overdue (%s): starting it again", job_id, job["status"])
        store.track_started([job_id], stall_s)
        store.release_start(job_id)
        store.add_waiting([job_id])
        app.send_task("ocr.start", args=(job_id,), queue=COMBINE_QUEUE, ignore_result=True)
        restarted.append(job_id)
    return restarted
