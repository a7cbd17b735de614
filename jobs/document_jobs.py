"""Document jobs: one job for a PDF or multi-page TIFF, one page job per page, read in parallel.

The document's record lists its pages' jobs; its status and result are put together from theirs when it
is read, so nothing has to notice when the last page finishes and no page's result is copied. A page that
could not be rendered, or whose job failed, fails alone: the document succeeds when any page did.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from celery import Celery
from pypdfium2.version import PDFIUM_INFO

from config.settings import Settings
from jobs.completion import job_finished
from jobs.document_files import DocumentPages
from jobs.document_view import document_view
from jobs.errors import InvalidOptions, RefusedRequest
from jobs.images import validate_image
from jobs.options import JobOptions
from jobs.pdf_text import Box, text_result
from jobs.pipeline import StoredImage, job_record, new_job_id, queue_starts, start_job
from jobs.resolution import OptionSources, resolve_options
from jobs.store import JobStore, now_iso


class PageSubmitter(Protocol):
    """What starting a document's pages needs of the API's service (``app.service.Service``): its store, its
    Celery app, the settings and option sources every request sees."""

    store: JobStore
    celery: Celery

    @property
    def settings(self) -> Settings:
        """The settings every request sees."""

    def option_sources(self) -> OptionSources:
        """What option resolution reads now."""


def check_document_options(raw: dict[str, Any]) -> None:
    """Refuse options no document can be read with (a document is read as pages or lines, never as one
    character); checked before any quota is spent or idempotency key claimed."""
    if raw.get("mode") == "char":
        raise InvalidOptions(422, "invalid_mode", "a document is read as pages; use mode page, text, line or auto")


def submit_document(
    svc: PageSubmitter,
    document: DocumentPages,
    raw: dict[str, Any],
    upload_sha256: str,
    job_id: str | None = None,
    owner: str | None = None,
    callback: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start one page job per readable page and record the document job (under ``job_id`` when the caller
    reserved one, with its ``callback`` if any); returns its view. ``raw`` has passed
    :func:`check_document_options`. A page that cannot be read, or whose options cannot be resolved (an
    unknown engine, preset or language), fails alone."""
    page_raw = {**raw, "mode": "line" if raw.get("mode") == "line" else "page"}
    settings, sources = svc.settings, svc.option_sources()
    use_cache = settings.cache_enabled and raw.get("cache", True)
    entries: list[dict[str, Any]] = []
    started: list[dict[str, Any]] = []
    options: dict[str, Any] | None = None
    job_id = job_id or new_job_id()
    for number, page in enumerate(document.pages, start=1):
        try:
            if isinstance(page, RefusedRequest):
                raise page
            image = validate_image(page, settings.max_upload_bytes, settings.max_image_pixels)
            resolved = resolve_options(page_raw, image, sources, owner)
        except RefusedRequest as exc:
            entries.append({"page": number, "job_id": None, "error": {"code": exc.code, "message": exc.message}})
            continue
        stored = StoredImage(image.sha256, image.png, image.width, image.height)
        text = document.texts[number - 1] if document.texts else None
        if text:  # the PDF says what the page holds: no engine reads it
            job = _from_text_layer(svc, stored, resolved, text, job_id)
        else:
            job = start_job(
                svc.celery, svc.store, stored, resolved, use_cache, None, 0.0, defer=True, extra={"parent": job_id}
            )
        options = options or job["options"]
        entries.append({"page": number, "job_id": job["id"], "error": None})
        started.append(job)
    record = {
        "status": "queued",
        "options": options or {"mode": page_raw["mode"]},
        "image_sha256": upload_sha256,
        "submitted_epoch": time.time(),
        "cached": False,
        "owner": owner,
        "document": {"format": document.source_format, "pages": entries},
        **({"callback": callback} if callback else {}),
    }
    # The document's record exists before any page can finish: the last page to finish starts its webhook.
    created = svc.store.create_job(job_id, record)
    queue_starts(svc.celery, svc.store, [job["id"] for job in started if job["status"] == "queued"])
    job_finished(svc.celery, svc.store, job_id)  # every page was answered from the cache
    return document_view(svc.store, created)


def _from_text_layer(
    svc: PageSubmitter, image: StoredImage, options: JobOptions, lines: list[tuple[Box, str]], parent: str
) -> dict[str, Any]:
    """A page job answered by the PDF's own text layer: created finished, its image stored for the
    searchable PDF and the web page."""
    svc.store.put_image(image.sha256, image.png)
    done = {"status": "succeeded", "finished_at": now_iso(), "result": text_result(lines, f"pdfium-{PDFIUM_INFO}")}
    record = job_record(image, options, use_cache=False, extra={"parent": parent, **done})
    return svc.store.create_job(new_job_id(), record)
