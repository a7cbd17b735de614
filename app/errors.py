"""The API's one error shape, ``{"error": {"code", "message"}}``, the exception that carries it, and the
request limits that are checked before any route runs.

Every code and status is listed in :mod:`app.error_codes`. Messages quote a client's input only in part
(:func:`clip`): an error answer must never echo a megabyte back.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask, HTTPError
from flask import request
from werkzeug.exceptions import HTTPException

from jobs.errors import ECHO_CHARS, RefusedRequest, clip

__all__ = ["ECHO_CHARS", "ApiError", "check_request_limits", "clip", "clipped", "error_body", "register_error_handlers"]

# The code of each status the HTTP layer (werkzeug, apiflask) answers by itself, so clients can switch on
# ``error.code``; any other status is answered as 400 bad_request or 500 internal_error.
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid_request",
    500: "internal_error",
}

# A message longer than this (a bug quoting too much) is cut: an error answer stays small.
MAX_MESSAGE_CHARS = 1000
# Request limits, far below gunicorn's hard caps (deploy/gunicorn.conf.py) so that these answers are ours.
MAX_URI_BYTES = 4096
MAX_HEADER_BYTES = 8192


class ApiError(HTTPError):
    """An error answered to the client with a status, a stable ``code`` and a message."""

    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None, detail: Any = None
    ) -> None:
        # headers: e.g. Retry-After and RateLimit-* on a 429; detail: e.g. the field a 422 is about.
        super().__init__(status_code, message, detail=detail, extra_data={"code": code}, headers=headers)
        self.code = code

    @classmethod
    def refused(cls, refusal: RefusedRequest) -> ApiError:
        """The answer to what the job core refused (an upload, options, a document): its status and code."""
        return cls(refusal.status_code, refusal.code, refusal.message)


def clipped(value: Any, limit: int = ECHO_CHARS) -> Any:
    """A JSON-like value (validation messages) with every key and string cut to ``limit`` characters."""
    if isinstance(value, dict):
        return {clip(key, limit): clipped(item, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clipped(item, limit) for item in value]
    if isinstance(value, str):
        return clip(value, limit)
    return value


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    error: dict[str, Any] = {"code": code, "message": clip(message, MAX_MESSAGE_CHARS)}
    if detail:
        error["detail"] = clipped(detail)
    return {"error": error}


def check_request_limits() -> None:
    """Refuse a request target over MAX_URI_BYTES (414) or a header over MAX_HEADER_BYTES (431)."""
    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if target is None:
        target = environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")
    if len(target) > MAX_URI_BYTES:
        raise ApiError(414, "uri_too_long", f"the request target is {len(target)} bytes; the limit is {MAX_URI_BYTES}")
    for name, value in request.headers.items():
        size = len(name) + len(value) + 2
        if size > MAX_HEADER_BYTES:
            message = f"header {clip(name)} is {size} bytes; the limit is {MAX_HEADER_BYTES}"
            raise ApiError(431, "header_too_large", message)


def register_error_handlers(app: APIFlask) -> None:
    """Make apiflask's errors and werkzeug's HTTP errors use :func:`error_body`, and check the request
    limits before every route."""
    app.before_request(check_request_limits)
    _register_body_errors(app)

    @app.error_processor
    def _api_error(error: HTTPError) -> tuple[dict[str, Any], int, Any]:
        status, code = error.status_code, error.extra_data.get("code")
        if not code:
            status, code = _generic(status)
        message = error.message or "error"
        if status == 422 and error.detail and code == "invalid_request":
            message = "the request does not match the schema; see detail"
        return error_body(code, message, error.detail), status, error.headers

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
        status, code = _generic(error.code or 500)
        # Keep what the error says in headers (a 405's Allow); the body is ours, so not its Content-Type.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return error_body(code, error.description or ""), status, headers


def _register_body_errors(app: APIFlask) -> None:
    """A body that gunicorn cannot read (broken chunked framing, a client gone mid-body) is raised by the
    server's input stream while a route reads it: the client's fault, so 400, not a 500."""
    try:
        from gunicorn.http.errors import NoMoreData, ParseException
    except ImportError:  # not served by gunicorn
        return

    @app.errorhandler(NoMoreData)
    @app.errorhandler(ParseException)
    def _unreadable_body(error: Exception) -> tuple[dict[str, Any], int, dict[str, str]]:
        message = f"the request body cannot be read: {clip(error)}"
        return error_body("bad_request", message), 400, {"Connection": "close"}


def _generic(status: int) -> tuple[int, str]:
    """The status and code of an error the HTTP layer raised: its own, or the nearest this API answers."""
    if status not in HTTP_CODES:
        status = 500 if status >= 500 else 400
    return status, HTTP_CODES[status]
