"""What the API needs at hand: settings, the job store, the Celery app and the weight presets."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from flask import current_app

from app.errors import ApiError
from app.quotas import Quotas
from app.runtime_config import ConfigStore
from config.settings import Settings
from engines.registry import queue_for
from ensemble.fitted import FittedPreset
from jobs.batch_pipeline import BatchEntry, BatchRequest, start_batch_job
from jobs.completion import job_finished
from jobs.document_files import DocumentPages, is_document, split_document
from jobs.document_jobs import check_document_options, submit_document
from jobs.document_view import document_view
from jobs.errors import InvalidDocument, InvalidImage, InvalidOptions
from jobs.images import ValidatedImage, downscaled, validate_image
from jobs.options import JobOptions, Mode
from jobs.pipeline import StoredImage, new_job_id, start_job
from jobs.queues import COMBINE_QUEUE
from jobs.resolution import OptionSources, decide_mode, resolve_options
from jobs.store import IdempotencyConflict, JobStore, content_key
from jobs.webhooks import RefusedTarget, check_target


@dataclass
class Service:
    """The API's collaborators, created once per process by the app factory.

    ``base_settings`` are the deployment's (environment); :attr:`settings` are those with the runtime
    configuration (``PUT /v1/config``) applied, as every request should see them.
    """

    base_settings: Settings
    store: JobStore
    celery: Celery
    base_presets: dict[str, dict[str, float]]
    fitted: dict[str, FittedPreset] = field(default_factory=dict)
    quotas: Quotas = field(init=False)
    runtime: ConfigStore = field(init=False)
    _overlay: tuple[int, Settings] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.quotas = Quotas.create(self.base_settings, self.store)
        self.runtime = ConfigStore(self.store.client, self.base_settings.runtime_config_max_age_s)

    @property
    def settings(self) -> Settings:
        """The deployment's settings with the current runtime configuration applied."""
        config = self.runtime.current()
        if self._overlay is None or self._overlay[0] != config.version:
            self._overlay = (config.version, config.overlay(self.base_settings))
        return self._overlay[1]

    @property
    def presets(self) -> dict[str, dict[str, float]]:
        """Weight presets: the deployment's, with the runtime configuration's replacing same-named ones."""
        runtime = self.runtime.current().presets
        return {**self.base_presets, **runtime} if runtime else self.base_presets

    def required_queues(self) -> list[str]:
        """Every queue that needs a live worker for the deployment's engines to answer."""
        return [queue_for(name) for name in self.base_settings.engines] + [COMBINE_QUEUE]

    def validate(self, data: bytes) -> ValidatedImage:
        """Validate an upload against the configured limits."""
        try:
            return validate_image(data, self.settings.max_upload_bytes, self.settings.max_image_pixels)
        except InvalidImage as exc:
            raise ApiError.refused(exc) from exc

    def option_sources(self) -> OptionSources:
        """What option resolution reads now: settings and presets with the runtime configuration applied."""
        runtime_presets = self.runtime.current().presets
        return OptionSources(self.settings, self.presets, self.fitted, frozenset(runtime_presets))

    def resolve_options(self, raw: dict[str, Any], image: ValidatedImage, owner: str | None = None) -> JobOptions:
        """Turn request options into resolved job options (engines checked, weights chosen); ``owner`` is the
        API key the job will belong to. What cannot be resolved is answered as the error it names."""
        try:
            return resolve_options(raw, image, self.option_sources(), owner)
        except InvalidOptions as exc:
            raise ApiError.refused(exc) from exc

    def stored(self, image: ValidatedImage, mode: str) -> StoredImage:
        """What the job stores: a character image larger than ``OCR_CHAR_MAX_PIXELS`` is shrunk first, so
        one huge "character" cannot hold an engine for minutes (no character needs more pixels)."""
        if mode == "char":
            image = downscaled(image, self.settings.char_max_pixels)
        return StoredImage(image.sha256, image.png, image.width, image.height)

    def submit(
        self,
        data: bytes,
        raw: dict[str, Any],
        idempotency_key: str | None = None,
        documents: bool = False,
        owner: str | None = None,
        admit: Admit | None = None,
    ) -> dict[str, Any]:
        """Validate, resolve and start a job; the same idempotency key and body give the same job.

        ``documents``: a PDF or multi-page TIFF becomes a document job (one page job per page); without it,
        such a file is refused (the synchronous endpoints answer for one image). ``owner``: the caller's API
        key id, which owns the job (and scopes its idempotency key and its cache). ``admit`` is called with
        the number of pages once the request is known to be valid, before any job exists (quotas).
        """
        admit = admit or _admit_all
        if idempotency_key and owner:
            idempotency_key = f"{owner}:{idempotency_key}"
        callback = self.callback(raw.get("callback_url"))
        if is_document(data):
            if not documents:
                raise ApiError(415, "document_not_accepted", "PDFs and multi-page TIFFs are read by POST /v1/jobs")
            try:
                check_document_options(raw)
            except InvalidOptions as exc:
                raise ApiError.refused(exc) from exc
            document = self.split(data, bool(raw.get("pdf_text")))
            admit(len(document.pages))
            upload_sha256 = hashlib.sha256(data).hexdigest()
            return self._submit_document_once(idempotency_key, document, raw, upload_sha256, owner, callback)
        image = self.validate(data)
        options = self.resolve_options(raw, image, owner)
        admit(1)
        stored = self.stored(image, options.mode)
        use_cache = self.settings.cache_enabled and raw.get("cache", True)
        extra = {"callback": callback} if callback else None
        if idempotency_key:
            job = self._submit_once(idempotency_key, stored, options, use_cache, extra)
        else:
            max_age = self.settings.engine_info_max_age_s
            job = start_job(self.celery, self.store, stored, options, use_cache, None, max_age, extra=extra)
        if callback and job["status"] == "succeeded":  # answered from the cache: nothing else will report it
            job_finished(self.celery, self.store, job["id"])
        return job

    def callback(self, url: str | None) -> dict[str, Any] | None:
        """The callback record of a job for ``url`` (None without one); 422 for a target we will not call."""
        if not url:
            return None
        try:
            check_target(url, self.base_settings.webhook_allow)
        except RefusedTarget as exc:
            raise ApiError(422, "callback_refused", str(exc)) from exc
        return {"url": url, "attempts": [], "delivered": False}

    def split(self, data: bytes, with_text: bool = False) -> DocumentPages:
        """The pages of a PDF or multi-page TIFF, within the limits (``with_text``: and PDF text layers)."""
        if len(data) > self.settings.max_upload_bytes:
            limit = self.settings.max_upload_bytes
            raise ApiError(413, "image_too_large", f"the upload is {len(data)} bytes; the limit is {limit}")
        settings = self.settings
        try:
            document = split_document(data, settings.max_pages, settings.pdf_dpi, settings.max_image_pixels, with_text)
        except InvalidDocument as exc:
            raise ApiError.refused(exc) from exc
        if document is None:
            raise ApiError(422, "corrupt_document", "the document cannot be read")
        return document

    def _submit_document_once(
        self,
        key: str | None,
        document: DocumentPages,
        raw: dict[str, Any],
        upload_sha256: str,
        owner: str | None,
        callback: dict[str, Any] | None,
    ) -> dict[str, Any]:
        reserved = None
        if key:
            reserved = new_job_id()
            options = {k: v for k, v in raw.items() if k != "image"}
            digest = content_key(upload_sha256, {"document": options}, {})
            earlier = self._earlier_job(key, digest, reserved)
            if earlier is not None:
                return document_view(self.store, earlier) if "document" in earlier else earlier
        try:
            return submit_document(self, document, raw, upload_sha256, reserved, owner, callback)
        except Exception:
            # Let a retry with the same key start afresh instead of finding a job that never ran.
            if key and reserved:
                with contextlib.suppress(Exception):
                    self.store.release_idempotency_key(key, reserved)
            raise

    def submit_batch(
        self,
        images: list[bytes | ApiError],
        raw: dict[str, Any],
        owner: str | None = None,
        admit: Admit | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Validate every image and start them as one batch job (one record, one cache round trip, one
        engine task per engine for its items); an image that fails validation is its own item's error.
        The same idempotency key and body give the same batch."""
        use_cache = self.settings.cache_enabled and raw.get("cache", True)
        resolved: dict[Mode, JobOptions | ApiError] = {}
        checked = [self._checked(data, raw, owner, resolved) for data in images]
        (admit or _admit_all)(sum(1 for item in checked if not isinstance(item, ApiError)))
        entries = [
            BatchEntry(error={"code": item.code, "message": item.message})
            if isinstance(item, ApiError)
            else BatchEntry(item[0], item[1])
            for item in checked
        ]
        public = {name: value for name, value in raw.items() if name != "images"}
        request = BatchRequest(public, owner, use_cache, self.settings.engine_info_max_age_s)
        if not idempotency_key:
            return start_batch_job(self.celery, self.store, entries, request)
        key = f"{owner}:{idempotency_key}" if owner else idempotency_key
        reserved = new_job_id()
        digests = [entry.image.sha256 if entry.image else entry.error for entry in entries]
        earlier = self._earlier_job(key, content_key("batch", {"images": digests, "options": public}, {}), reserved)
        if earlier is not None:
            return earlier
        try:
            return start_batch_job(self.celery, self.store, entries, request, reserved)
        except Exception:
            with contextlib.suppress(Exception):
                self.store.release_idempotency_key(key, reserved)
            raise

    def _checked(
        self,
        data: bytes | ApiError,
        raw: dict[str, Any],
        owner: str | None,
        resolved: dict[Mode, JobOptions | ApiError],
    ) -> tuple[StoredImage, JobOptions] | ApiError:
        """One image of a batch validated and its options resolved, or the error it alone fails with.

        ``resolved`` holds the batch's options per mode: the image only decides the mode, so the rest is
        resolved once per mode and batch (it cost a third of a small image's time in the API).
        """
        if isinstance(data, ApiError):  # already refused while reading the request
            return data
        try:
            if is_document(data):
                raise ApiError(415, "document_not_accepted", "PDFs and multi-page TIFFs are read by POST /v1/jobs")
            image = self.validate(data)
            mode = decide_mode(image, raw.get("mode") or "auto")
            if mode not in resolved:
                try:
                    decided = self.resolve_options({**raw, "mode": mode}, image, owner)
                    resolved[mode] = dataclasses.replace(decided, requested_mode=raw.get("mode") or "auto")
                except ApiError as exc:
                    resolved[mode] = exc
            options = resolved[mode]
            if isinstance(options, ApiError):
                raise options
        except ApiError as exc:
            return exc
        return self.stored(image, options.mode), options

    def _earlier_job(self, key: str, digest: str, job_id: str) -> dict[str, Any] | None:
        """The job an earlier request with ``key`` created, or None when ``job_id`` now owns the key.

        The first request may still be writing its record: it gets a moment. A key whose first request died
        before writing any job is taken over, so that retries do not point at a job that never exists.
        """
        for _ in range(2):
            try:
                earlier = self.store.claim_idempotency_key(key, digest, job_id)
            except IdempotencyConflict as exc:
                message = "Idempotency-Key was used with a different request"
                raise ApiError(422, "idempotency_conflict", message) from exc
            if earlier is None:
                return None
            for _ in range(100):
                job = self.store.get_job(earlier)
                if job is not None:
                    return job
                time.sleep(0.01)
            self.store.release_idempotency_key(key, earlier)
        raise ApiError(
            503, "backend_unavailable", "the first request with this Idempotency-Key is not written yet; retry"
        )

    def _submit_once(
        self, key: str, image: StoredImage, options: JobOptions, use_cache: bool, extra: dict[str, Any] | None
    ) -> dict[str, Any]:
        job_id = new_job_id()
        digest = content_key(image.sha256, options.cache_material(), {})
        earlier = self._earlier_job(key, digest, job_id)
        if earlier is not None:
            return earlier
        try:
            max_age = self.settings.engine_info_max_age_s
            return start_job(self.celery, self.store, image, options, use_cache, job_id, max_age, extra=extra)
        except Exception:
            # Let a retry with the same key start afresh instead of finding a job that never ran.
            with contextlib.suppress(Exception):
                self.store.release_idempotency_key(key, job_id)
            raise


Admit = Callable[[int], None]


def _admit_all(pages: int) -> None:
    """No quota: every request is admitted."""


def service() -> Service:
    """The current app's :class:`Service`."""
    found: Service = current_app.extensions["ocr"]
    return found
