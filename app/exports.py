"""``GET /v1/jobs/{id}/result?format=``: a finished job's result as JSON, text, hOCR, ALTO, PAGE XML or a
searchable PDF, every format rendered from the one document model (:mod:`documents`)."""

from __future__ import annotations

import io
from typing import Any

from apiflask import APIBlueprint
from flask import Response, jsonify, request
from PIL import Image

from app.errors import ApiError
from app.jobs import public_job, read_job
from app.service import service
from documents.build import document_from_pages, document_from_result
from documents.export import FILE_EXTENSIONS, FORMATS, render
from documents.model import Document

exports_bp = APIBlueprint("exports", __name__, url_prefix="/v1", tag="Jobs")

FORMAT_HELP = (
    "json (default, the job's result), text, hocr (hOCR 1.2), alto (ALTO 4), page (PAGE XML 2019; one page per "
    "file: choose it with `page`), pdf (the pages with an invisible, selectable text layer)"
)


@exports_bp.get("/jobs/<job_id>/result")
@exports_bp.doc(
    summary="Download a finished job's result in a document format",
    description=FORMAT_HELP,
    responses={
        200: "the result in the chosen format",
        404: "unknown job",
        409: "the job has not succeeded (yet)",
        410: "the page images expired (pdf)",
        422: "unknown format or page",
    },
)
def job_result(job_id: str) -> Response:
    """The result of a finished job as `format` (`?format=hocr`); `page=N` picks the page of a PAGE XML."""
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(422, "invalid_format", f"format {fmt[:20]!r} is not one of {', '.join(FORMATS)}")
    job = read_job(job_id)
    if job["status"] != "succeeded":
        error = job.get("error") or {}
        message = f"the job is {job['status']}" + (f": {error.get('message')}" if error else "")
        raise ApiError(409, "job_not_succeeded", message)
    if fmt == "json":
        return jsonify(public_job(job)["result"])
    document = _document(job)
    number = _page_number(len(document.pages)) if fmt == "page" else None
    images = _page_images(job) if fmt == "pdf" else None
    body, media_type = render(document, fmt, images, page_number=number)
    filename = f"{job_id[:64]}.{FILE_EXTENSIONS[fmt]}"
    return Response(body, mimetype=media_type, headers={"Content-Disposition": f'inline; filename="{filename}"'})


def _document(job: dict[str, Any]) -> Document:
    result = job["result"]
    if "document" in job:
        return document_from_pages(result["pages"])
    return document_from_result(result, job["image_size"])


def _page_number(pages: int) -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= pages:
        raise ApiError(422, "invalid_page", f"page must be a number from 1 to {pages}")
    return int(raw)


def _page_images(job: dict[str, Any]) -> list[Image.Image | None]:
    """The uploaded page images (the PDF is drawn from them); 410 when they expired before the result."""
    store = service().store
    if "document" in job:
        ids = [page["job_id"] for page in job["result"]["pages"]]
        children = store.get_jobs([i for i in ids if i])
        digests = [(children.get(i) or {}).get("image_sha256") if i else None for i in ids]
    else:
        digests = [job["image_sha256"]]
    images: list[Image.Image | None] = []
    for digest in digests:
        png = store.get_image(digest) if digest else None
        if digest and png is None:
            raise ApiError(410, "image_expired", "the page images are no longer stored; submit the file again")
        images.append(Image.open(io.BytesIO(png)) if png else None)
    return images
