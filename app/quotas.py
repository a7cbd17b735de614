"""Per-key quotas and global backpressure, shared by every API process through Redis.

- Requests per second: a sliding-window counter per key (the ``limits`` library on Redis).
- Concurrent jobs: the key's unfinished jobs (a Redis set, pruned of finished jobs when it looks full).
- Pages per day (UTC): a counter per key and day; an image is one page, a document one per page.
Over a quota is 429 with ``Retry-After``; every answer to a key carries ``RateLimit-*`` headers. When the
queues hold more than ``OCR_MAX_QUEUE_DEPTH`` messages, new jobs get 503 with ``Retry-After``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from app.errors import ApiError
from config.settings import Settings
from jobs.keys import ApiKey
from jobs.store import PREFIX, JobStore

BUSY_RETRY_AFTER_S = 5
# How old the queue depth that backpressure is decided on may be, per API process.
QUEUE_DEPTH_MAX_AGE_S = 0.25
DAY_S = 24 * 3600


@dataclass(frozen=True)
class RateState:
    """What the RateLimit headers say about a key's request rate after this request."""

    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        """The draft IETF RateLimit header fields."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


@dataclass
class Quotas:
    """The quota checks of one API process."""

    settings: Settings
    store: JobStore
    limiter: SlidingWindowCounterRateLimiter
    # The queues' depth as last read (monotonic time, depth): read at most every QUEUE_DEPTH_MAX_AGE_S.
    _depth_seen: tuple[float, int] = field(default=(-math.inf, 0), repr=False, compare=False)

    @classmethod
    def create(cls, settings: Settings, store: JobStore) -> Quotas:
        """Quotas counted in the service's Redis."""
        storage = RedisStorage(settings.redis_url, key_prefix=f"{PREFIX}rate")
        return cls(settings, store, SlidingWindowCounterRateLimiter(storage))

    def check_rate(self, key: ApiKey) -> RateState | None:
        """Count one request of ``key``; 429 when it is over its requests per second."""
        per_second = _own(key.requests_per_second, self.settings.key_requests_per_second)
        if not per_second:
            return None
        item = RateLimitItemPerSecond(per_second)
        allowed = self.limiter.hit(item, key.id)
        stats = self.limiter.get_window_stats(item, key.id)
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        state = RateState(per_second, max(0, stats.remaining), reset)
        if not allowed:
            message = f"over {per_second} requests per second for this key"
            raise ApiError(429, "rate_limited", message, {"Retry-After": str(reset), **state.headers()})
        return state

    def admit(self, key: ApiKey, pages: int) -> None:
        """Before creating jobs for ``key``: 429 when it has too many unfinished jobs or would pass its
        pages per day."""
        self._check_active(key)
        self._check_pages(key, pages)

    def track(self, key: ApiKey, job_ids: list[str]) -> None:
        """Count jobs just created for ``key`` as unfinished."""
        if job_ids:
            active = _active_key(key)
            with self.store.client.pipeline(transaction=False) as pipe:
                pipe.sadd(active, *job_ids)
                pipe.expire(active, self.settings.result_ttl_s)
                pipe.execute()

    def check_backpressure(self, queues: list[str]) -> None:
        """503 when the queues already hold more messages than ``OCR_MAX_QUEUE_DEPTH``."""
        bound = self.settings.max_queue_depth
        if not bound:
            return
        depth = self._queue_depth(queues)
        if depth > bound:
            message = f"the service is busy ({depth} tasks waiting); retry later"
            raise ApiError(503, "overloaded", message, {"Retry-After": str(BUSY_RETRY_AFTER_S)})

    def _queue_depth(self, queues: list[str]) -> int:
        """Messages waiting on ``queues``: this process's reading of at most QUEUE_DEPTH_MAX_AGE_S ago (a
        Redis round trip on every request was a sixth of a cache hit's time; the bound is approximate)."""
        seen_at, depth = self._depth_seen
        if time.monotonic() - seen_at <= QUEUE_DEPTH_MAX_AGE_S:
            return depth
        with self.store.client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(queue)
            depth = sum(int(n) for n in pipe.execute())
        self._depth_seen = (time.monotonic(), depth)
        return depth

    def _check_active(self, key: ApiKey) -> None:
        limit = _own(key.max_active_jobs, self.settings.key_max_active_jobs)
        if not limit:
            return
        client, active = self.store.client, _active_key(key)
        if int(client.scard(active)) < limit:
            return
        members = [m.decode() for m in client.smembers(active)]
        jobs = self.store.get_jobs(members)
        done = [job_id for job_id, job in jobs.items() if job is None or job["status"] in ("succeeded", "failed")]
        if done:
            client.srem(active, *done)
        if len(members) - len(done) >= limit:
            message = f"this key has {limit} unfinished jobs, its limit; retry when some finish"
            raise ApiError(429, "too_many_active_jobs", message, {"Retry-After": "1"})

    def _check_pages(self, key: ApiKey, pages: int) -> None:
        limit = _own(key.pages_per_day, self.settings.key_pages_per_day)
        if not limit:
            return
        now = datetime.now(UTC)
        counter = f"{PREFIX}pages:{key.id}:{now:%Y%m%d}"
        with self.store.client.pipeline() as pipe:
            pipe.incrby(counter, pages)
            pipe.expire(counter, 2 * DAY_S)
            used = int(pipe.execute()[0])
        if used > limit:
            self.store.client.decrby(counter, pages)  # refused pages do not count
            until_midnight = DAY_S - (now.hour * 3600 + now.minute * 60 + now.second)
            message = f"{pages} more page(s) would pass this key's {limit} pages per day"
            raise ApiError(429, "daily_pages_exceeded", message, {"Retry-After": str(until_midnight)})


def _own(value: int | None, default: int) -> int:
    return default if value is None else value


def _active_key(key: ApiKey) -> str:
    return f"{PREFIX}active:{key.id}"
