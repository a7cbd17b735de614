"""Job API v1: submit a job, read it back, and the synchronous conveniences built on jobs."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import request, url_for

from app.access import caller
from app.errors import ApiError
from app.requests import read_batch, read_single
from app.schemas import BatchOut, JobOut, PredictOut, PredictTextOut
from app.service import service
from jobs.batches import batch_view, is_batch
from jobs.document_view import document_view

jobs_bp = APIBlueprint("jobs", __name__, url_prefix="/v1", tag="Jobs")

PUBLIC_JOB_FIELDS = (
    "id",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "cached",
    "options",
    "result",
    "error",
    "callback",
)


# Internal to the workers: the fitted preset's calibration maps that travel with the job.
PRIVATE_OPTIONS = ("kinds", "calibration", "cache_scope")


def public_job(job: dict[str, Any]) -> dict[str, Any]:
    """The fields of a job record that users see (a document job's with its per-page progress)."""
    public = {name: job.get(name) for name in PUBLIC_JOB_FIELDS}
    if isinstance(public["options"], dict):
        public["options"] = {k: v for k, v in public["options"].items() if k not in PRIVATE_OPTIONS}
    if "document" in job:
        public["document"] = {"format": job["document"]["format"], "page_count": len(job["document"]["pages"])}
        public["pages"] = job.get("pages", [])
    if "items" in job:
        public["batch"], public["batch_items"] = job["batch"], job["items"]
    return public


def read_job(job_id: str) -> dict[str, Any]:
    """The job record (a document job's put together from its pages' jobs); 404 when unknown or expired."""
    svc = service()
    job = svc.store.get_job(job_id)
    # Another key's job is answered exactly as an unknown one: its existence is not revealed either.
    if job is None or not caller().may_read(job.get("owner")):
        raise ApiError(404, "job_not_found", f"no job {job_id[:64]} (unknown or expired)")
    if is_batch(job):
        return batch_view(svc.store, job)
    return document_view(svc.store, job) if "document" in job else job


def admit(pages: int) -> None:
    """Before creating jobs (once the request is known to be valid): 503 when the queues are over their
    bound, 429 when the caller's key is over its unfinished jobs or pages per day."""
    svc = service()
    svc.quotas.check_backpressure(svc.required_queues())
    key = caller().key
    if key is not None:
        svc.quotas.admit(key, pages)


def track(jobs: list[dict[str, Any]]) -> None:
    """Count the jobs just created (a document's page jobs) against the caller's unfinished jobs."""
    key = caller().key
    if key is None:
        return
    ids = [page["job_id"] for job in jobs for page in job.get("pages", []) if page.get("job_id")]
    ids += [job["id"] for job in jobs if "document" not in job]
    service().quotas.track(key, ids)


@jobs_bp.post("/jobs")
@jobs_bp.output(JobOut, status_code=202, description="Accepted; poll the Location")
@jobs_bp.doc(summary="Submit an image for recognition", responses=[400, 413, 415, 422, 503])
def submit_job() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Queue a job. Send the image as multipart field `image` or as base64 in JSON.

    An `Idempotency-Key` header makes retries safe: the same key and body give the same job.
    """
    data, options = read_single()
    key = request.headers.get("Idempotency-Key")
    job = service().submit(data, options, key, documents=True, owner=caller().owner, admit=admit)
    track([job])
    location = url_for("jobs.get_job", job_id=job["id"])
    return public_job(job), 202, {"Location": location}


@jobs_bp.get("/jobs/<job_id>")
@jobs_bp.output(JobOut)
@jobs_bp.doc(summary="Read a job's status and result", responses=[404])
def get_job(job_id: str) -> dict[str, Any]:
    """Return the job: `queued`, `running`, `succeeded` (with its result) or `failed` (with its error).

    A document job (PDF, multi-page TIFF) lists its `pages` with each page's status while it runs, and its
    result holds every page's result; a page that failed is reported in `failed_pages`.
    """
    return public_job(read_job(job_id))


@jobs_bp.post("/predict")
@jobs_bp.output(PredictOut)
@jobs_bp.doc(summary="Recognise one character and wait for the answer", responses=[400, 413, 415, 422, 503, 504])
def predict() -> dict[str, Any]:
    """Synchronous character recognition: top-5 alternatives and every engine's prediction."""
    data, options = read_single()
    return _sync_answer(_run_to_completion(data, {**options, "mode": "char"}), ("character", "top5"))


@jobs_bp.post("/predict_text")
@jobs_bp.output(PredictTextOut)
@jobs_bp.doc(summary="Recognise a word or a line and wait for the answer", responses=[400, 413, 415, 422, 503, 504])
def predict_text() -> dict[str, Any]:
    """Synchronous word/line recognition with per-character confidences."""
    data, options = read_single()
    return _sync_answer(_run_to_completion(data, {**options, "mode": "text"}), ("text", "char_confidences", "lines"))


@jobs_bp.post("/batch_predict")
@jobs_bp.output(BatchOut)
@jobs_bp.doc(summary="Recognise several images and wait for all answers", responses=[400, 413, 415, 422, 504])
def batch_predict() -> dict[str, Any]:
    """Run the images as one batch job (each engine reads all of them in one call) and wait for it; each
    image is an item with its own result or error, so one bad image fails only its item.

    An `Idempotency-Key` header makes retries safe: the same key and body give the same batch. Items still
    unfinished at the deadline come back with their status; `GET /v1/jobs/{job_id}` has them later.
    """
    svc = service()
    request.max_content_length = svc.settings.max_upload_bytes * svc.settings.max_batch_images * 2
    images, options = read_batch()
    if len(images) > svc.settings.max_batch_images:
        raise ApiError(413, "too_many_images", f"{len(images)} images; the limit is {svc.settings.max_batch_images}")
    key = request.headers.get("Idempotency-Key")
    batch = svc.submit_batch(images, options, caller().owner, admit=admit, idempotency_key=key)
    track([batch])
    finished = svc.store.wait_for_job(batch["id"], svc.settings.sync_timeout_s) or batch
    view = batch_view(svc.store, finished)
    return {"job_id": view["id"], "status": view["status"], "results": view["items"]}


SYNC_FIELDS = ("confidence", "failed_engines", "method", "agreement", "processing_time_ms")


def _sync_answer(job: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """A finished job as a synchronous endpoint answers it: ``fields`` of its result plus the common ones."""
    result = job["result"]
    answer = {name: result[name] for name in (*fields, *SYNC_FIELDS)}
    return {"job_id": job["id"], "predictions": result["engines"], "cached": job.get("cached", False), **answer}


def _run_to_completion(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    svc = service()
    job = svc.submit(data, options, request.headers.get("Idempotency-Key"), owner=caller().owner, admit=admit)
    track([job])
    finished = svc.store.wait_for_job(job["id"], svc.settings.sync_timeout_s)
    if finished is None or finished["status"] in ("queued", "running"):
        raise ApiError(504, "timeout", f"job {job['id']} is not finished yet; poll /v1/jobs/{job['id']}")
    if finished["status"] == "failed":
        error = finished.get("error") or {}
        raise ApiError(503, error.get("code", "job_failed"), error.get("message", "the job failed"))
    return finished
