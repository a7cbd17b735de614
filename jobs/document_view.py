"""A document job as users read it, put together from its page jobs' records (API and workers both use it).

The document's record lists its pages' jobs; its status and result come from theirs when it is read, so
nothing has to notice when the last page finishes and no page's result is copied.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from jobs.store import JobStore

FINISHED = ("succeeded", "failed")


def document_view(store: JobStore, job: dict[str, Any]) -> dict[str, Any]:
    """The document job as users read it: status and per-page progress from its pages' jobs, and once
    every page finished, the result with each page's result in page order."""
    entries = job["document"]["pages"]
    ids = [entry["job_id"] for entry in entries if entry["job_id"]]
    children = store.get_jobs(ids) if ids else {}
    pages = [_page_state(entry, children.get(entry["job_id"]) if entry["job_id"] else None) for entry in entries]
    statuses = [page["status"] for page in pages]
    view = {**job, "pages": [{k: page[k] for k in ("page", "job_id", "status", "error")} for page in pages]}
    view["cached"] = bool(pages) and all(page["cached"] for page in pages)
    if not all(status in FINISHED for status in statuses):
        view["status"] = "queued" if all(s in ("queued", "failed") for s in statuses) else "running"
        return view
    finished_at = max((page["finished_at"] for page in pages if page["finished_at"]), default=None)
    view["finished_at"] = finished_at or job.get("created_at")
    if "succeeded" not in statuses:
        view["status"] = "failed"
        view["error"] = {"code": "all_pages_failed", "message": f"none of the {len(pages)} pages could be read"}
        return view
    view["status"] = "succeeded"
    view["result"] = _document_result(job, pages)
    return view


def _page_state(entry: dict[str, Any], child: dict[str, Any] | None) -> dict[str, Any]:
    state: dict[str, Any] = {"page": entry["page"], "job_id": entry["job_id"], "cached": False, "finished_at": None}
    if entry["error"] is not None:
        return {**state, "status": "failed", "error": entry["error"], "result": None, "size": None}
    if child is None:
        error = {"code": "page_expired", "message": "the page's job expired"}
        return {**state, "status": "failed", "error": error, "result": None, "size": None}
    return {
        **state,
        "status": child["status"],
        "error": child.get("error"),
        "result": child.get("result"),
        "size": child.get("image_size"),
        "cached": bool(child.get("cached")),
        "finished_at": child.get("finished_at"),
    }


def _document_result(job: dict[str, Any], pages: list[dict[str, Any]]) -> dict[str, Any]:
    read = [page["result"] for page in pages if page["result"]]
    chars = sum(len(result["text"]) for result in read)
    return {
        "mode": "document",
        "kind": "page",
        "text": "\f".join((page["result"] or {}).get("text", "") for page in pages),
        "confidence": sum(r["confidence"] * len(r["text"]) for r in read) / chars if chars else 0.0,
        "failed_pages": [page["page"] for page in pages if page["status"] == "failed"],
        "pages": [
            {k: page[k] for k in ("page", "job_id", "status", "error", "result")} | {"size": page["size"]}
            for page in pages
        ],
        "processing_time_ms": round((_latest_epoch(pages) - job["submitted_epoch"]) * 1000.0, 1),
    }


def _latest_epoch(pages: list[dict[str, Any]]) -> float:
    """When the last page finished (epoch seconds)."""
    stamps = [page["finished_at"] for page in pages if page["finished_at"]]
    if not stamps:
        return time.time()
    return max(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() for stamp in stamps)
