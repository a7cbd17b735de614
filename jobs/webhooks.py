"""Completion webhooks: a job may carry a callback URL; when it finishes, its summary is POSTed there.

The body is signed with HMAC-SHA256 over ``"<timestamp>.<body>"`` with the secret of the API key that owns
the job (``ocr keys create`` shows it), or the service's own secret when keys are not required (``ocr keys
webhook-secret``). Headers: ``X-OCR-Timestamp``, ``X-OCR-Signature: sha256=<hex>``, ``X-OCR-Job``,
``X-OCR-Attempt``. A failed attempt (no 2xx) is retried with exponential backoff up to
``OCR_WEBHOOK_MAX_ATTEMPTS`` times; every attempt is recorded on the job. Targets on private, loopback,
link-local or otherwise special addresses are refused unless ``OCR_WEBHOOK_ALLOW`` names their host or
network; the check runs at submission and again before each attempt (the name may resolve elsewhere then).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import redis

from jobs.store import PREFIX, JobStore, now_iso

MAX_URL_LENGTH = 2048
SERVICE_SECRET_KEY = f"{PREFIX}webhook_secret"
FIRED_PREFIX = f"{PREFIX}webhook_fired:"


class RefusedTarget(ValueError):
    """A callback URL the service will not call."""


def check_target(url: str, allow: list[str]) -> None:
    """Raise :class:`RefusedTarget` unless ``url`` is an http(s) URL whose every address may be called."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedTarget(f"the callback URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:  # http://[::1 or http://[zz]/
        raise RefusedTarget("the callback URL is not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise RefusedTarget("the callback URL must be http:// or https:// with a host")
    if host in allow:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise RefusedTarget(f"the callback host does not resolve: {host[:64]}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global and not _allowed(address, allow):
            raise RefusedTarget(
                f"the callback host {host[:64]} is a private, loopback or link-local address ({address}); "
                "an operator can allow it with OCR_WEBHOOK_ALLOW"
            )


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow: list[str]) -> bool:
    for entry in allow:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue  # a host name: matched against the URL's host above
    return False


def service_secret(client: redis.Redis) -> str:
    """The service's own signing secret (created once), for jobs of no key."""
    client.set(SERVICE_SECRET_KEY, secrets.token_urlsafe(32), nx=True)
    value = client.get(SERVICE_SECRET_KEY) or b""
    return value.decode() if isinstance(value, bytes) else str(value)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>.<body>")."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def summary(job: dict[str, Any]) -> dict[str, Any]:
    """What the callback receives: the job's state and text, not its whole result (fetch that by id)."""
    result = job.get("result") or {}
    return {
        "id": job["id"],
        "status": job["status"],
        "created_at": job.get("created_at"),
        "finished_at": job.get("finished_at"),
        "error": job.get("error"),
        "text": result.get("text"),
        "confidence": result.get("confidence"),
        "pages": len(result["pages"]) if "pages" in result else None,
        "failed_pages": result.get("failed_pages"),
        "result_url": f"/v1/jobs/{job['id']}",
    }


def record_attempt(store: JobStore, job_id: str, attempt: dict[str, Any]) -> dict[str, Any] | None:
    """Append one delivery attempt to the job's ``callback`` record; returns it (None if the job is gone)."""
    job = store.get_job(job_id)
    if job is None or not job.get("callback"):
        return None
    callback = dict(job["callback"])
    callback["attempts"] = [*callback.get("attempts", []), {**attempt, "at": now_iso()}]
    callback["delivered"] = bool(attempt.get("ok")) or bool(callback.get("delivered"))
    store.set_fields(job_id, {"callback": callback})
    return callback


def claim_delivery(client: redis.Redis, job_id: str, ttl_s: int) -> bool:
    """True for the one caller that gets to start a job's delivery (documents finish on several workers)."""
    return bool(client.set(f"{FIRED_PREFIX}{job_id}", str(time.time()), nx=True, ex=ttl_s))


def body_of(job: dict[str, Any]) -> bytes:
    """The JSON body sent for ``job`` (compact, keys sorted: what is signed is exactly what is sent)."""
    return json.dumps(summary(job), sort_keys=True, separators=(",", ":")).encode()
