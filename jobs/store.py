"""Job records, stored images, the result cache, idempotency keys and worker presence, on Redis.

Keys (all under the ``ocr:`` prefix, each with a TTL):
    image:<sha256>      normalised PNG of an upload, stored once per distinct image
    job:<id>            hash: status, timestamps, options, result or error (JSON fields)
    cache:<content key> a finished result, reused by identical later jobs
    idem:<key>          the job created for an Idempotency-Key, with the request's digest
    engine:<name>       model version and availability, published by worker processes
    workers             hash: hostname -> the queues a live worker consumes and when that expires
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import redis
from PIL import Image

PREFIX = "ocr:"
WAITING_KEY = f"{PREFIX}waiting"
WAITING_CAP = 10_000
STARTED_KEY = f"{PREFIX}started"
# One hash of worker announcements (hostname -> record with its expiry): /ready reads it in one call.
WORKERS_KEY = f"{PREFIX}workers"
# Bump when the content or meaning of a job result changes.
RESULT_FORMAT = 3
# How long a job's finish signal waits for a waiter that has not started waiting yet.
FINISHED_SIGNAL_TTL_S = 60
JOB_STATUSES = ("queued", "running", "succeeded", "failed")


def now_iso() -> str:
    """The current UTC time as an ISO 8601 string with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def content_key(image_sha256: str, options: dict[str, Any], model_versions: dict[str, str]) -> str:
    """The cache key of a job: the image digest, its options and the versions of the engines used.

    ``RESULT_FORMAT`` is part of it too, so a release that changes what a result holds never serves
    results cached by an older one.
    """
    material = json.dumps(
        {"image": image_sha256, "options": options, "versions": model_versions, "format": RESULT_FORMAT},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()


def decode_png(png: bytes) -> npt.NDArray[np.uint8]:
    """Decode a normalised PNG (written by the API after validation) into a uint8 array."""
    with Image.open(io.BytesIO(png)) as image:
        mode = "RGB" if image.mode == "RGB" else "L"
        return np.asarray(image.convert(mode), dtype=np.uint8)


def pad_box(box: tuple[int, int, int, int], width: int, height: int, ratio: float = 0.15) -> list[int]:
    """Grow a detected line box by a share of its height (detectors cut close to the ink)."""
    left, top, right, bottom = box
    pad = max(2, round(ratio * (bottom - top)))
    return [max(0, left - pad), max(0, top - pad), min(width, right + pad), min(height, bottom + pad)]


def crop_box(image: npt.NDArray[np.uint8], box: list[int]) -> npt.NDArray[np.uint8]:
    """The part of ``image`` inside ``box`` (left, top, right, bottom)."""
    left, top, right, bottom = box
    return image[top:bottom, left:right]


class IdempotencyConflict(Exception):
    """An Idempotency-Key reused with a different request body."""


@dataclass
class JobStore:
    """All the service's state on Redis; shared by the API and the workers."""

    client: redis.Redis
    image_ttl_s: int
    result_ttl_s: int
    _engine_info_copy: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def from_url(cls, url: str, image_ttl_s: int, result_ttl_s: int) -> JobStore:
        """Connect to the Redis at ``url`` (connections are opened lazily)."""
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        return cls(client, image_ttl_s, result_ttl_s)

    def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    # Images
    def put_image(self, sha256: str, png: bytes) -> None:
        """Store an image once; storing it again only refreshes its TTL."""
        self.put_images({sha256: png})

    def get_image(self, sha256: str) -> bytes | None:
        """The stored PNG, or None when it expired."""
        return self.get_images([sha256])[0]

    def put_images(self, pngs: dict[str, bytes]) -> None:
        """:meth:`put_image` for many images in one round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for sha256, png in pngs.items():
                key = f"{PREFIX}image:{sha256}"
                pipe.set(key, png, ex=self.image_ttl_s, nx=True)
                pipe.expire(key, self.image_ttl_s)
            pipe.execute()

    def get_images(self, sha256s: list[str]) -> list[bytes | None]:
        """:meth:`get_image` for many images in one round trip, in the same order."""
        if not sha256s:
            return []
        values = self.client.mget([f"{PREFIX}image:{sha256}" for sha256 in sha256s])
        return [_bytes(value) if value is not None else None for value in values]

    # Jobs
    def create_job(self, job_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Write a new job record (fields are JSON-encoded) and return it as :meth:`get_job` would."""
        record = {"id": job_id, "created_at": now_iso(), **fields}
        self._write_job(job_id, record)
        return record

    def mark_running(self, job_id: str) -> None:
        """Move a queued job to running (a no-op for jobs already further along)."""
        self.mark_all_running([job_id])

    # Jobs waiting to start: a worker starting one job takes the others waiting with it (workers.tasks.start)
    def add_waiting(self, job_ids: list[str]) -> None:
        """Note jobs as waiting to start (the list is capped: a job's own message starts it regardless)."""
        if job_ids:
            with self.client.pipeline(transaction=False) as pipe:
                pipe.rpush(WAITING_KEY, *job_ids)
                pipe.ltrim(WAITING_KEY, -WAITING_CAP, -1)
                pipe.execute()

    def take_waiting(self, limit: int) -> list[str]:
        """Take up to ``limit`` waiting job ids, oldest first (each is taken by one caller only)."""
        if limit < 1:
            return []
        taken = self.client.lpop(WAITING_KEY, limit) or []
        return [value.decode() for value in cast(list[bytes], taken)]

    def claim_starts(self, job_ids: list[str], ttl_s: int) -> list[str]:
        """Claim the right to start each job; returns those claimed here. A claim lapses after ``ttl_s``
        unless :meth:`mark_started` confirms it, so a job whose claimer died can be started again."""
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.set(f"{PREFIX}start:{job_id}", "claimed", nx=True, ex=ttl_s)
            won = pipe.execute()
        return [job_id for job_id, ok in zip(job_ids, won, strict=True) if ok]

    def start_state(self, job_id: str) -> str | None:
        """``claimed`` (a worker is starting it), ``started`` (its tasks are queued) or None."""
        value = self.client.get(f"{PREFIX}start:{job_id}")
        return _text(value) if value is not None else None

    def mark_started(self, job_ids: list[str]) -> None:
        """Record that these jobs' first tasks are queued (their own start messages then do nothing)."""
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.set(f"{PREFIX}start:{job_id}", "started", ex=self.result_ttl_s)
            pipe.execute()

    def get_jobs(self, job_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        """:meth:`get_job` for many jobs in one round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(self.job_key(job_id))
            raws = pipe.execute()
        return {job_id: _decoded_record(raw) for job_id, raw in zip(job_ids, raws, strict=True)}

    # Each engine's output, kept until the job is voted, so a job can still be voted when a task is killed
    def save_output(self, job_id: str, engine: str, output: dict[str, Any]) -> None:
        """Keep one engine's output for the job (see :meth:`saved_outputs`)."""
        key = f"{PREFIX}outputs:{job_id}"
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(key, engine, json.dumps(output))
            pipe.expire(key, self.result_ttl_s)
            pipe.execute()

    def saved_outputs(self, job_id: str) -> dict[str, dict[str, Any]]:
        """The outputs kept for the job, by engine."""
        raw = self.client.hgetall(f"{PREFIX}outputs:{job_id}")
        return {_text(engine): json.loads(value) for engine, value in raw.items()}

    def mark_all_running(self, job_ids: list[str]) -> None:
        """:meth:`mark_running` for many jobs in two round trips."""
        with self.client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.job_key(job_id), "status")
            statuses = pipe.execute()
        started: dict[Any, Any] = {"status": '"running"', "started_at": json.dumps(now_iso())}
        with self.client.pipeline(transaction=False) as pipe:
            for job_id, status in zip(job_ids, statuses, strict=True):
                if status == b'"queued"':
                    pipe.hset(self.job_key(job_id), mapping=started)
            pipe.execute()

    def finish_job(self, job_id: str, result: dict[str, Any]) -> None:
        """Record a successful result."""
        self._write_job(job_id, {"status": "succeeded", "finished_at": now_iso(), "result": result})
        self.signal_finished(job_id)

    def count_delivery(self, job_id: str, engine: str) -> int:
        """Count one more delivery of a job's task for ``engine``; returns how many there have been."""
        key = f"{PREFIX}deliveries:{job_id}:{engine}"
        with self.client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, self.result_ttl_s)
            count, _ = pipe.execute()
        return int(count)

    # Started jobs and when they are overdue: a job whose chord died with a worker or a Redis outage is
    # started again by the sweeper (jobs/sweeper.py)
    def track_started(self, job_ids: list[str], overdue_after_s: float) -> None:
        """Note jobs as started; they are overdue ``overdue_after_s`` from now unless they finish."""
        if job_ids:
            deadline = time.time() + overdue_after_s
            self.client.zadd(STARTED_KEY, dict.fromkeys(job_ids, deadline))

    def untrack_started(self, job_id: str) -> None:
        """A job finished: it can no longer be overdue."""
        self.client.zrem(STARTED_KEY, job_id)

    def overdue(self, limit: int = 100) -> list[str]:
        """Started jobs past their deadline, oldest first."""
        found = self.client.zrangebyscore(STARTED_KEY, "-inf", time.time(), start=0, num=limit)
        return [_text(value) for value in found]

    def release_start(self, job_id: str) -> None:
        """Forget who started a job, so that its next ``ocr.start`` starts it again."""
        self.client.delete(f"{PREFIX}start:{job_id}")

    # In-flight work: the unfinished job running a content key, which identical requests join
    def claim_in_flight(self, key: str, job_id: str, ttl_s: int) -> str | None:
        """Make ``job_id`` the job running ``key``; returns the job already running it, if any."""
        name = f"{PREFIX}inflight:{key}"
        if self.client.set(name, job_id, nx=True, ex=ttl_s):
            return None
        found = self.client.get(name)
        return _text(found) if found is not None else None

    def lead_in_flight(self, key: str, job_id: str, ttl_s: int) -> None:
        """Make ``job_id`` the job running ``key`` whoever was before."""
        self.client.set(f"{PREFIX}inflight:{key}", job_id, ex=ttl_s)

    def end_in_flight(self, key: str, job_id: str) -> None:
        """Forget that ``job_id`` runs ``key`` (it finished), unless another job leads it by now."""
        name = f"{PREFIX}inflight:{key}"
        if self.client.get(name) == job_id.encode():
            self.client.delete(name)

    def set_fields(self, job_id: str, fields: dict[str, Any]) -> None:
        """Write some fields of a job record (JSON-encoded), leaving the others as they are."""
        self._write_job(job_id, fields)

    def set_layout(self, job_id: str, layout: dict[str, Any]) -> None:
        """Record the line boxes found for a page job."""
        self._write_job(job_id, {"layout": layout})

    def fail_job(self, job_id: str, code: str, message: str) -> None:
        """Record why a job failed."""
        error = {"code": code, "message": message}
        self._write_job(job_id, {"status": "failed", "finished_at": now_iso(), "error": error})
        self.signal_finished(job_id)

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """The job record with its JSON fields decoded, or None when unknown or expired."""
        return _decoded_record(self.client.hgetall(self.job_key(job_id)))

    def wait_for_job(self, job_id: str, timeout_s: float) -> dict[str, Any] | None:
        """Wait until the job is finished or ``timeout_s`` passes; return the last record seen.

        The waiter blocks on the job's finish signal (:meth:`signal_finished`) instead of polling, so it
        wakes as soon as the result is written; the status is checked again after each wake (or every
        second), and the record (a batch's holds every item's result) is read once at the end.
        """
        deadline = time.monotonic() + timeout_s
        signal = f"{PREFIX}finished:{job_id}"
        while True:
            status = self.client.hget(self.job_key(job_id), "status")
            remaining = deadline - time.monotonic()
            if status is None or json.loads(status) in ("succeeded", "failed") or remaining <= 0:
                return self.get_job(job_id)
            # Below the client's socket timeout; Redis takes fractions of a second here.
            if self.client.blpop([signal], timeout=min(1.0, max(0.01, remaining))) is not None:
                self.signal_finished(job_id)  # put back for any other waiter of the same job

    def signal_finished(self, job_id: str) -> None:
        """Wake whoever waits for the job (:meth:`wait_for_job`); the signal lapses with a short TTL."""
        signal = f"{PREFIX}finished:{job_id}"
        with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(signal, 1)
            pipe.ltrim(signal, 0, 0)
            pipe.expire(signal, FINISHED_SIGNAL_TTL_S)
            pipe.execute()

    # Cache
    def get_cached(self, key: str) -> dict[str, Any] | None:
        """A cached result for a content key, or None."""
        return self.get_many_cached([key])[0]

    def put_cached(self, key: str, result: dict[str, Any]) -> None:
        """Cache a finished result under its content key."""
        self.put_many_cached({key: result})

    def get_many_cached(self, keys: list[str]) -> list[dict[str, Any] | None]:
        """:meth:`get_cached` for many content keys in one round trip, in the same order."""
        if not keys:
            return []
        values = self.client.mget([f"{PREFIX}cache:{key}" for key in keys])
        return [json.loads(value) if value is not None else None for value in values]

    def put_many_cached(self, results: dict[str, dict[str, Any]]) -> None:
        """:meth:`put_cached` for many results (content key -> result) in one round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for key, result in results.items():
                pipe.set(f"{PREFIX}cache:{key}", json.dumps(result), ex=self.result_ttl_s)
            pipe.execute()

    # Idempotency
    def claim_idempotency_key(self, key: str, request_digest: str, job_id: str) -> str | None:
        """Bind ``key`` to ``job_id``; return the earlier job id if the key was already used.

        Raises :class:`IdempotencyConflict` when the key was used with a different request.
        """
        redis_key = f"{PREFIX}idem:{hashlib.sha256(key.encode()).hexdigest()}"
        record = json.dumps({"job_id": job_id, "digest": request_digest})
        if self.client.set(redis_key, record, ex=self.result_ttl_s, nx=True):
            return None
        existing = self.client.get(redis_key)
        if existing is None:  # expired between the two calls: take it over
            self.client.set(redis_key, record, ex=self.result_ttl_s)
            return None
        earlier = json.loads(existing)
        if earlier["digest"] != request_digest:
            raise IdempotencyConflict(key)
        return str(earlier["job_id"])

    def release_idempotency_key(self, key: str, job_id: str) -> None:
        """Forget ``key`` if it still points at ``job_id`` (its job could not be started)."""
        redis_key = f"{PREFIX}idem:{hashlib.sha256(key.encode()).hexdigest()}"
        current = self.client.get(redis_key)
        if current is not None and json.loads(current).get("job_id") == job_id:
            self.client.delete(redis_key)

    # Engines and workers
    def publish_engine(self, name: str, info: dict[str, Any]) -> None:
        """Record an engine's model version and availability as seen by a worker process."""
        self.client.set(f"{PREFIX}engine:{name}", json.dumps(info), ex=self.result_ttl_s)

    def engine_info(self, names: list[str], max_age_s: float = 0.0) -> dict[str, dict[str, Any] | None]:
        """What workers last published about each engine (None where nothing was published).

        ``max_age_s`` > 0 may answer from this process's copy read at most that long ago: the API's
        submit path asks on every request, and versions change only when workers restart.
        """
        key = tuple(names)
        if max_age_s > 0:
            read_at, info = self._engine_info_copy.get(key, (0.0, {}))
            if time.monotonic() - read_at <= max_age_s:
                return info
        values = self.client.mget([f"{PREFIX}engine:{name}" for name in names]) if names else []
        found = {name: (json.loads(v) if v else None) for name, v in zip(names, values, strict=True)}
        # An engine no worker has published yet is asked again next time, not remembered as missing.
        if max_age_s > 0 and all(found.values()):
            self._engine_info_copy[key] = (time.monotonic(), found)
        return found

    def publish_worker(self, hostname: str, queues: list[str], ttl_s: float) -> None:
        """Announce a live worker and its queues until ``ttl_s`` passes without a refresh."""
        record = {"hostname": hostname, "queues": queues, "seen_at": now_iso(), "expires": time.time() + ttl_s}
        self.client.hset(WORKERS_KEY, hostname, json.dumps(record))

    def remove_worker(self, hostname: str) -> None:
        """Forget a worker that shut down cleanly."""
        self.client.hdel(WORKERS_KEY, hostname)

    def live_workers(self) -> list[dict[str, Any]]:
        """Every worker whose announcement has not expired (one read; expired ones are dropped)."""
        now, live, expired = time.time(), [], []
        for hostname, value in self.client.hgetall(WORKERS_KEY).items():
            record = json.loads(value)
            if record.get("expires", 0) > now:
                live.append({k: v for k, v in record.items() if k != "expires"})
            else:
                expired.append(hostname)
        if expired:
            self.client.hdel(WORKERS_KEY, *expired)
        return live

    def job_key(self, job_id: str) -> str:
        """The Redis key of a job's record."""
        return f"{PREFIX}job:{job_id}"

    def _write_job(self, job_id: str, fields: dict[str, Any]) -> None:
        key = self.job_key(job_id)
        encoded: dict[Any, Any] = {name: json.dumps(value) for name, value in fields.items()}
        with self.client.pipeline() as pipe:
            pipe.hset(key, mapping=encoded)
            pipe.expire(key, self.result_ttl_s)
            pipe.execute()


def _decoded_record(raw: Mapping[bytes | str, bytes | str]) -> dict[str, Any] | None:
    """A job record as read from its Redis hash, JSON fields decoded (None for no record)."""
    return {_text(key): json.loads(value) for key, value in raw.items()} if raw else None


def _bytes(value: bytes | str) -> bytes:
    """A Redis reply as bytes (this client does not decode replies; the typing allows both)."""
    return value if isinstance(value, bytes) else value.encode()


def _text(value: Any) -> str:
    """A Redis reply (bytes) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)
