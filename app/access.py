"""Who is calling: the API key of each request, its role, and what it may see.

With keys required (``Settings.auth_required``), every ``/v1/`` request presents a key
(``Authorization: Bearer <key>`` or ``X-API-Key: <key>``); ``/metrics`` and ``/status`` need an admin key
unless the request comes from loopback; ``/health``, ``/ready``, the docs and the web page stay open.
Without keys (the API on 127.0.0.1 only), every caller acts as an admin with no owner.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from flask import Flask, Response, g, request

from app.errors import ApiError
from app.quotas import RateState
from app.service import service
from jobs.keys import ApiKey, KeyStore

OPERATOR_PATHS = ("/metrics", "/status")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ocr"'}


@dataclass(frozen=True)
class Caller:
    """The caller of the current request: its key, or None when keys are not required."""

    key: ApiKey | None

    @property
    def admin(self) -> bool:
        """Admins see every job and change the runtime configuration."""
        return self.key is None or self.key.role == "admin"

    @property
    def owner(self) -> str | None:
        """The id that owns the jobs this caller creates (None without keys)."""
        return self.key.id if self.key is not None else None

    def may_read(self, job_owner: str | None) -> bool:
        """Whether this caller may see a job owned by ``job_owner``."""
        return self.admin or job_owner == self.owner


def caller() -> Caller:
    """The current request's caller (open access outside a request that went through the check)."""
    found: Caller | None = g.get("caller")
    return found or Caller(None)


def require_admin() -> None:
    """403 unless the caller is an admin."""
    if not caller().admin:
        raise ApiError(403, "forbidden", "this needs an admin key")


def presented_key() -> str | None:
    """The key sent with the request, if any."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("X-API-Key") or None


def _from_operator_network(allowed: list[str]) -> bool:
    """Whether the request comes from loopback or a network in ``OCR_METRICS_ALLOW``."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return address.is_loopback or any(address in ipaddress.ip_network(net, strict=False) for net in allowed)


def check_request() -> None:
    """Before every request: find the caller, or refuse with 401/403 in our JSON shape."""
    svc = service()
    if not svc.base_settings.auth_required:
        g.caller = Caller(None)
        return
    presented = presented_key()
    key = KeyStore(svc.store.client).authenticate(presented) if presented else None
    path = request.path
    if path in OPERATOR_PATHS:
        if _from_operator_network(svc.base_settings.metrics_allow) or (key is not None and key.role == "admin"):
            g.caller = Caller(key)
            return
        raise ApiError(
            403 if key else 401,
            "forbidden" if key else "missing_api_key",
            "this needs an admin key",
            None if key else CHALLENGE,
        )
    if not path.startswith("/v1/"):
        g.caller = Caller(key)
        return
    if presented is None:
        raise ApiError(401, "missing_api_key", "send an API key: Authorization: Bearer <key>", CHALLENGE)
    if key is None:
        raise ApiError(401, "invalid_api_key", "the API key is unknown or revoked", CHALLENGE)
    g.caller = Caller(key)
    g.rate = svc.quotas.check_rate(key)


def add_rate_headers(response: Response) -> Response:
    """Every answer to a key says where it stands against its requests per second."""
    state: RateState | None = g.get("rate")
    if state is not None:
        response.headers.update(state.headers())
    return response


def init_access(app: Flask) -> None:
    """Check the caller of every request before its view runs."""
    app.before_request(check_request)
    app.after_request(add_rate_headers)
