"""A batch is one job: one record holding N items, each with its own result, error and cache entry.

The record is the job's Redis hash (``ocr:job:<id>``, like any job) with, besides the usual fields,
``batch`` (the item count), ``group:<g>`` (the resolved options shared by a group of items: options
differ only by the mode decided from each image's ink) and ``item:<i>`` (one item's state). Items are
written together: the API writes all of them in one HSET, and a worker writes every item it voted in
one HSET. Character and line items are read inside the batch (:mod:`workers.batch_tasks`); a page item
needs its own line detection and runs as an ordinary page job whose id its item holds (``job_id``).

The batch is finished once every item is: :func:`settle` (called after each write and when a page item's
job ends) writes the batch's own status, so quotas, the sweeper and pollers see it without assembling it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobs.document_view import FINISHED
from jobs.options import JobOptions
from jobs.store import JobStore, now_iso

ITEM_PREFIX = "item:"
# An item refused by validation is ``rejected`` (it never became work); it is finished like the others.
ITEM_FINISHED = (*FINISHED, "rejected")
GROUP_PREFIX = "group:"


@dataclass
class BatchItem:
    """One image of a batch: where its pixels are, which option group reads it, and what became of it."""

    index: int
    status: str
    image_sha256: str | None = None
    image_size: list[int] | None = None
    group: int | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    cached: bool = False
    # A page item runs as its own page job.
    job_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored in the record's ``item:<index>`` field."""
        return {name: value for name, value in self.__dict__.items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchItem:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)

    @property
    def finished(self) -> bool:
        """True once the item succeeded, failed or was rejected."""
        return self.status in ITEM_FINISHED


@dataclass
class Batch:
    """A batch job's record split into its parts: the common fields, the option groups and the items."""

    job: dict[str, Any]
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    items: list[BatchItem] = field(default_factory=list)

    @property
    def id(self) -> str:
        """The batch job's id."""
        return str(self.job["id"])

    def group_options(self, group: int) -> JobOptions:
        """The options the items of ``group`` are read with."""
        return JobOptions.from_dict(self.groups[group])

    def items_at(self, indexes: list[int]) -> list[BatchItem]:
        """The items at ``indexes``, in that order."""
        by_index = {item.index: item for item in self.items}
        return [by_index[index] for index in indexes]

    def pending(self, group: int) -> list[BatchItem]:
        """The group's items still to be read inside the batch (not page items, which are jobs of their own)."""
        return [item for item in self.items if item.group == group and not item.finished and item.job_id is None]


def is_batch(job: dict[str, Any]) -> bool:
    """True for a batch job's record."""
    return "batch" in job


def batch_fields(items: list[BatchItem], groups: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The record fields holding ``items`` and ``groups`` (to write with the batch's other fields)."""
    written: dict[str, Any] = {f"{ITEM_PREFIX}{item.index}": item.to_dict() for item in items}
    written.update({f"{GROUP_PREFIX}{number}": options for number, options in groups.items()})
    return written


def split_record(job: dict[str, Any]) -> Batch:
    """A batch record as read by :meth:`JobStore.get_job`, split into its parts."""
    common: dict[str, Any] = {}
    groups: dict[int, dict[str, Any]] = {}
    items: list[BatchItem] = []
    for name, value in job.items():
        if name.startswith(ITEM_PREFIX):
            items.append(BatchItem.from_dict(value))
        elif name.startswith(GROUP_PREFIX):
            groups[int(name[len(GROUP_PREFIX) :])] = value
        else:
            common[name] = value
    items.sort(key=lambda item: item.index)
    return Batch(common, groups, items)


def read_batch(store: JobStore, batch_id: str) -> Batch | None:
    """The batch's record split into its parts, or None when it is unknown or expired."""
    job = store.get_job(batch_id)
    return split_record(job) if job is not None and is_batch(job) else None


def write_items(store: JobStore, batch_id: str, items: list[BatchItem]) -> None:
    """Write the items' new states in one round trip."""
    if items:
        store.set_fields(batch_id, {f"{ITEM_PREFIX}{item.index}": item.to_dict() for item in items})


def batch_view(store: JobStore, job: dict[str, Any]) -> dict[str, Any]:
    """The batch job as users read it: its fields, per-item progress, and each item's state (a page item's
    from its own job)."""
    batch = split_record(job)
    items = _with_page_jobs(store, batch.items)
    done = sum(1 for item in items if item.finished)
    view = dict(batch.job)
    view["batch"] = {"count": len(items), "finished": done}
    view["items"] = [_item_view(item, batch.id) for item in items]
    view["cached"] = bool(items) and all(item.cached for item in items)
    return view


def settle(store: JobStore, batch_id: str) -> bool:
    """Write the batch's final status once every item finished; True when this call finished it.

    ``succeeded`` when any item succeeded (the others keep their own errors), ``failed`` when none did.
    """
    job = store.get_job(batch_id)
    if job is None or not is_batch(job) or job["status"] in FINISHED:
        return False
    items = _with_page_jobs(store, split_record(job).items)
    if not all(item.finished for item in items):
        return False
    fields: dict[str, Any] = {"finished_at": now_iso()}
    if any(item.status == "succeeded" for item in items):
        fields["status"] = "succeeded"
    else:
        fields["status"] = "failed"
        fields["error"] = {"code": "all_items_failed", "message": f"none of the {len(items)} images could be read"}
    store.set_fields(batch_id, fields)
    store.signal_finished(batch_id)
    return True


def _with_page_jobs(store: JobStore, items: list[BatchItem]) -> list[BatchItem]:
    """The items, each page item's state taken from its own job."""
    ids = [item.job_id for item in items if item.job_id]
    if not ids:
        return items
    children = store.get_jobs(ids)
    merged = []
    for item in items:
        child = children.get(item.job_id) if item.job_id else None
        if item.job_id and child is None:
            error = {"code": "item_expired", "message": "the item's page job expired"}
            item = BatchItem(item.index, "failed", item.image_sha256, item.image_size, error=error, job_id=item.job_id)
        elif child is not None:
            item = BatchItem(
                item.index,
                child["status"],
                item.image_sha256,
                item.image_size,
                result=child.get("result"),
                error=child.get("error"),
                cached=bool(child.get("cached")),
                job_id=item.job_id,
            )
        merged.append(item)
    return merged


def _item_view(item: BatchItem, batch_id: str) -> dict[str, Any]:
    return {
        "index": item.index,
        "job_id": item.job_id or batch_id,
        "status": item.status,
        "cached": item.cached,
        "result": item.result,
        "error": item.error,
    }
