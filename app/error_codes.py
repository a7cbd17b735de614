"""Every error code the API answers, with its HTTP status and what it means: the one catalogue.

An error response is ``{"error": {"code", "message"}}`` with the status listed here for its code. A code
that two situations share may be listed under two statuses (``too_many_images``). The README's "Error
codes" tables and the ``x-error-codes`` of ``/openapi.json`` are rendered from these tuples, and
``tests/unit/test_error_codes.py`` checks that every raise site in ``app/`` uses a code and status listed
here and that nothing here is unused.

Nothing in this module may import the rest of the app: ``app.errors`` builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    """A code an error response carries, the HTTP status it comes with, and what it means."""

    code: str
    status: int
    meaning: str


@dataclass(frozen=True)
class JobErrorCode:
    """A code in the ``error`` of a failed job (or of one page of a document job)."""

    code: str
    meaning: str


ERRORS: tuple[ErrorCode, ...] = (
    ErrorCode(
        "bad_request", 400, "the HTTP request itself is malformed (request line, headers, framing, transfer coding)"
    ),
    ErrorCode("missing_image", 400, "a multipart request without its `image` (or `images`) file field"),
    ErrorCode("too_many_images", 400, "more than one `image` field sent to an endpoint that reads one image"),
    ErrorCode("invalid_json", 400, "the JSON body does not parse, is nested too deeply, or is not an object"),
    ErrorCode("invalid_base64", 400, "an image in a JSON body is not valid base64 (nor a data URL holding it)"),
    ErrorCode("empty_image", 400, "the image is empty (zero bytes)"),
    ErrorCode("invalid_if_match", 400, "`If-Match` of a configuration change is not a version number"),
    ErrorCode("missing_api_key", 401, "keys are required and the request sent none (`Authorization: Bearer <key>`)"),
    ErrorCode("invalid_api_key", 401, "the API key is unknown or revoked"),
    ErrorCode("forbidden", 403, "this needs an admin key (runtime configuration, `/metrics`, `/status`)"),
    ErrorCode("not_found", 404, "no such route"),
    ErrorCode("job_not_found", 404, "no job with that id: unknown, or expired"),
    ErrorCode(
        "method_not_allowed", 405, "the route does not take this method; the `Allow` header lists those it takes"
    ),
    ErrorCode("job_not_succeeded", 409, "a result was asked for a job that is still queued or running, or failed"),
    ErrorCode("config_conflict", 409, "the configuration changed since the version `If-Match` names"),
    ErrorCode("image_expired", 410, "a searchable PDF was asked for after the job's page images expired"),
    ErrorCode("payload_too_large", 413, "the request body (or a form field) is over the server's limit"),
    ErrorCode("image_too_large", 413, "the upload is over `OCR_MAX_UPLOAD_BYTES`"),
    ErrorCode("too_many_pixels", 413, "the image (or a document page) is over `OCR_MAX_IMAGE_PIXELS`"),
    ErrorCode("too_many_pages", 413, "the document has more pages than `OCR_MAX_PAGES`"),
    ErrorCode("too_many_images", 413, "the batch has more images than `OCR_MAX_BATCH_IMAGES`"),
    ErrorCode("uri_too_long", 414, "the request target (path and query) is over 4 KiB"),
    ErrorCode("unsupported_media_type", 415, "the body is neither `multipart/form-data` nor `application/json`"),
    ErrorCode("unsupported_format", 415, "the file is not a PNG, JPEG, TIFF, BMP, WebP or GIF (or a PDF, for jobs)"),
    ErrorCode("document_not_accepted", 415, "a PDF or multi-page TIFF sent to an endpoint that reads one image"),
    ErrorCode("range_not_satisfiable", 416, "a `Range` header outside a static file (the docs page's assets)"),
    ErrorCode("expectation_failed", 417, "an `Expect` header other than `100-continue`"),
    ErrorCode("invalid_request", 422, "an option does not match the schema (the message names it)"),
    ErrorCode("invalid_weights", 422, "`weights` is not an object of enabled engine -> finite number >= 0, or all 0"),
    ErrorCode("unknown_engine", 422, "`engines` or `weights` names an engine not enabled here"),
    ErrorCode("unknown_preset", 422, "`preset` names no preset of this server"),
    ErrorCode(
        "unsupported_language",
        422,
        "`languages` holds a code we do not know, or one that the named engines (or every engine here) cannot read",
    ),
    ErrorCode("invalid_mode", 422, "a mode the upload cannot be read in (`char` for a document)"),
    ErrorCode("no_layout_engine", 422, "page mode, but none of `OCR_LAYOUT_ENGINES` is enabled"),
    ErrorCode("idempotency_conflict", 422, "the `Idempotency-Key` was used before with a different request"),
    ErrorCode("corrupt_image", 422, "the file claims an accepted image format but cannot be decoded"),
    ErrorCode("corrupt_document", 422, "the PDF (or multi-page TIFF) cannot be read at all, e.g. encrypted"),
    ErrorCode("empty_document", 422, "the document has no pages"),
    ErrorCode("corrupt_page", 422, "one page of a document cannot be rendered or decoded (that page's error)"),
    ErrorCode("invalid_format", 422, "`format` of a result download is not one of the formats"),
    ErrorCode("invalid_page", 422, "`page` of a PAGE XML download is not a page of the job"),
    ErrorCode(
        "callback_refused", 422, "`callback_url` is not an http(s) URL this server may call (e.g. a private address)"
    ),
    ErrorCode("invalid_config", 422, "a field of a configuration change is invalid (`detail.field` names it)"),
    ErrorCode("rate_limited", 429, "the key is over its requests per second; retry after `Retry-After` seconds"),
    ErrorCode("too_many_active_jobs", 429, "the key has as many unfinished jobs as it may; retry when some finish"),
    ErrorCode("daily_pages_exceeded", 429, "the key would pass its pages per day; `Retry-After` is the next day"),
    ErrorCode("header_too_large", 431, "a request header is over 8 KiB, or there are too many headers"),
    ErrorCode("internal_error", 500, "a bug on our side; the log has the traceback"),
    ErrorCode("overloaded", 503, "the queues hold more than `OCR_MAX_QUEUE_DEPTH` tasks; retry after `Retry-After`"),
    ErrorCode("backend_unavailable", 503, "Redis (the job store or broker) is not reachable; retry later"),
    ErrorCode("timeout", 504, "a synchronous request's job did not finish within `OCR_SYNC_TIMEOUT_S`; poll it"),
)

# The synchronous endpoints (/v1/predict, /v1/predict_text) answer a job that failed with this status and
# the job's own error code (one of JOB_ERRORS).
JOB_FAILED_STATUS = 503

JOB_ERRORS: tuple[JobErrorCode, ...] = (
    JobErrorCode("all_engines_failed", "no engine produced a result; the message has each engine's error"),
    JobErrorCode("image_expired", "the stored image expired before the job's lines were detected"),
    JobErrorCode("not_queued", "the broker refused the job; retry the request"),
    JobErrorCode("internal_error", "the job's tasks ended without a result (e.g. killed at the time limit)"),
    JobErrorCode("job_failed", "the job failed without a code (not expected)"),
    JobErrorCode("all_pages_failed", "a document job none of whose pages could be read"),
    JobErrorCode("page_expired", "a document page's own job expired before the document was read"),
    JobErrorCode("all_items_failed", "a batch job none of whose images could be read"),
    JobErrorCode("item_expired", "a batch's page image's own job expired before the batch was read"),
)

PAIRS: frozenset[tuple[str, int]] = frozenset((error.code, error.status) for error in ERRORS)
CODES: frozenset[str] = frozenset(error.code for error in ERRORS)
JOB_CODES: frozenset[str] = frozenset(error.code for error in JOB_ERRORS)


def is_catalogued(code: str, status: int) -> bool:
    """True when an error response with ``status`` may carry ``code``."""
    return (code, status) in PAIRS or (status == JOB_FAILED_STATUS and code in JOB_CODES)


def markdown_tables() -> str:
    """The README's tables: the codes of error responses, then those of failed jobs."""
    lines = ["| Status | Code | Meaning |", "| --- | --- | --- |"]
    lines += [f"| {e.status} | `{e.code}` | {e.meaning} |" for e in sorted(ERRORS, key=lambda e: (e.status, e.code))]
    lines += ["", "| Job error code | Meaning |", "| --- | --- |"]
    lines += [f"| `{e.code}` | {e.meaning} |" for e in JOB_ERRORS]
    return "\n".join(lines) + "\n"


def openapi_extension() -> dict[str, list[dict[str, object]]]:
    """The catalogue as the ``x-error-codes`` extension of the OpenAPI document."""
    return {
        "responses": [{"code": e.code, "status": e.status, "description": e.meaning} for e in ERRORS],
        "jobs": [{"code": e.code, "status": JOB_FAILED_STATUS, "description": e.meaning} for e in JOB_ERRORS],
    }
