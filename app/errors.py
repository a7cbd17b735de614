"""The API's one error shape, ``{"error": {"code", "message"}}``, and the exception that carries it."""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask, HTTPError
from werkzeug.exceptions import HTTPException

# Stable codes for werkzeug's own HTTP errors, so clients can switch on ``error.code``.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}


class ApiError(HTTPError):
    """An error answered to the client with a status, a stable ``code`` and a message."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(status_code, message, extra_data={"code": code})
        self.code = code


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    error: dict[str, Any] = {"code": code, "message": message}
    if detail:
        error["detail"] = detail
    return {"error": error}


def register_error_handlers(app: APIFlask) -> None:
    """Make apiflask's errors and werkzeug's HTTP errors use :func:`error_body`."""

    @app.error_processor
    def _api_error(error: HTTPError) -> tuple[dict[str, Any], int, Any]:
        code = error.extra_data.get("code") or HTTP_CODES.get(error.status_code, "error")
        message = error.message or "error"
        if error.status_code == 422 and error.detail and code == "invalid_request":
            message = "the request does not match the schema; see detail"
        return error_body(code, message, error.detail), error.status_code, error.headers

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[dict[str, Any], int, dict[str, str]]:
        status = error.code or 500
        # Keep what the error says in headers (a 405's Allow); the body is ours, so not its Content-Type.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return error_body(HTTP_CODES.get(status, "error"), error.description or ""), status, headers
