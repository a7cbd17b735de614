"""The delivery task of completion webhooks (started by :func:`jobs.completion.job_finished`)."""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from celery import Task

from config.settings import get_settings
from jobs.document_view import document_view
from jobs.keys import KeyStore
from jobs.store import JobStore
from jobs.webhooks import RefusedTarget, body_of, check_target, record_attempt, service_secret
from jobs.webhooks import signature as sign
from workers.celery_app import celery_app
from workers.runtime import job_store

log = logging.getLogger(__name__)


@celery_app.task(name="ocr.deliver_webhook", bind=True, ignore_result=True, max_retries=None)
def deliver_webhook(self: Task[Any, Any], job_id: str) -> None:
    """POST the job's signed summary to its callback URL; on failure, retry with exponential backoff."""
    store, settings = job_store(), get_settings()
    job = store.get_job(job_id)
    if job is None or not job.get("callback"):
        return
    if "document" in job:
        job = document_view(store, job)
    attempt = len(job["callback"].get("attempts", [])) + 1
    outcome = _attempt(store, job, attempt, settings.webhook_allow, settings.webhook_timeout_s)
    record_attempt(store, job_id, outcome)
    if not outcome["ok"] and not outcome.get("final") and attempt < settings.webhook_max_attempts:
        raise self.retry(countdown=settings.webhook_first_retry_s * 2 ** (attempt - 1))


def _attempt(store: JobStore, job: dict[str, Any], attempt: int, allow: list[str], timeout_s: float) -> dict[str, Any]:
    url = job["callback"]["url"]
    try:
        check_target(url, allow)  # again: the name may resolve elsewhere than at submission
    except RefusedTarget as exc:
        return {"attempt": attempt, "ok": False, "final": True, "error": str(exc)}
    body, timestamp = body_of(job), int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-OCR-Timestamp": str(timestamp),
        "X-OCR-Signature": sign(_secret(store, job.get("owner")), timestamp, body),
        "X-OCR-Job": job["id"],
        "X-OCR-Attempt": str(attempt),
    }
    try:
        response = requests.post(url, data=body, headers=headers, timeout=timeout_s, allow_redirects=False)
    except requests.RequestException as exc:
        return {"attempt": attempt, "ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return {"attempt": attempt, "ok": 200 <= response.status_code < 300, "status": response.status_code}


def _secret(store: JobStore, owner: str | None) -> str:
    """The owning key's webhook secret, or the service's for jobs of no key."""
    key = KeyStore(store.client).get(owner) if owner else None
    return key.webhook_secret if key is not None else service_secret(store.client)
