"""API keys: created, listed and revoked with ``ocr keys``; only a hash of each key is stored (in Redis).

A key reads ``ocr_<id>_<secret>``: the id finds the record, the secret is checked against its SHA-256 in
constant time. Roles: ``submit`` (jobs of its own) and ``admin`` (also every job, runtime configuration,
``/metrics`` and ``/status``). Each key also has a webhook secret, kept to sign its completion callbacks
(the service must be able to sign, so that one is stored as is), and its own quotas (None: the defaults).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Literal, cast

import redis

from jobs.store import PREFIX, now_iso

Role = Literal["submit", "admin"]
ROLES: tuple[Role, ...] = ("submit", "admin")
KEYS_HASH = f"{PREFIX}keys"


@dataclass(frozen=True)
class ApiKey:
    """A key's record (never the key itself)."""

    id: str
    role: Role
    name: str
    key_sha256: str
    webhook_secret: str
    created_at: str
    revoked_at: str | None = None
    requests_per_second: int | None = None
    max_active_jobs: int | None = None
    pages_per_day: int | None = None

    @property
    def revoked(self) -> bool:
        """True once the key was revoked."""
        return self.revoked_at is not None

    def public(self) -> dict[str, object]:
        """What ``ocr keys list`` shows: everything but the hash and the webhook secret."""
        shown = asdict(self)
        del shown["key_sha256"], shown["webhook_secret"]
        return shown


@dataclass(frozen=True)
class NewKey:
    """A key just created: the only time the key and its webhook secret are shown."""

    record: ApiKey
    key: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class KeyStore:
    """The API keys on Redis (hash ``ocr:keys``: id -> JSON record)."""

    client: redis.Redis

    def create(
        self,
        role: Role,
        name: str = "",
        requests_per_second: int | None = None,
        max_active_jobs: int | None = None,
        pages_per_day: int | None = None,
    ) -> NewKey:
        """Create a key with ``role`` and optional quotas of its own; returns it with the key shown once."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        key_id = secrets.token_hex(6)
        key = f"ocr_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(
            id=key_id,
            role=role,
            name=name[:200],
            key_sha256=_digest(key),
            webhook_secret=secrets.token_urlsafe(32),
            created_at=now_iso(),
            requests_per_second=requests_per_second,
            max_active_jobs=max_active_jobs,
            pages_per_day=pages_per_day,
        )
        self.client.hset(KEYS_HASH, key_id, json.dumps(asdict(record)))
        return NewKey(record, key)

    def get(self, key_id: str) -> ApiKey | None:
        """The record of ``key_id``, or None."""
        raw = self.client.hget(KEYS_HASH, key_id[:64])
        return ApiKey(**json.loads(raw)) if raw else None

    def all(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        raws = cast(dict[bytes, bytes], self.client.hgetall(KEYS_HASH))
        records = [ApiKey(**json.loads(raw)) for raw in raws.values()]
        return sorted(records, key=lambda record: record.created_at)

    def revoke(self, key_id: str) -> ApiKey | None:
        """Revoke a key (kept, marked revoked); None when unknown."""
        record = self.get(key_id)
        if record is None:
            return None
        if not record.revoked:
            record = replace(record, revoked_at=now_iso())
            self.client.hset(KEYS_HASH, key_id, json.dumps(asdict(record)))
        return record

    def authenticate(self, key: str) -> ApiKey | None:
        """The live record for a presented key, or None (unknown, malformed, wrong secret or revoked)."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "ocr" or len(key) > 200:
            return None
        record = self.get(parts[1])
        if record is None or record.revoked:
            return None
        return record if hmac.compare_digest(record.key_sha256, _digest(key)) else None
