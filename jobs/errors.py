"""Errors of the job core, free of HTTP: the API maps them to its answers (``app.errors.ApiError``)."""

from __future__ import annotations

# How much of a client's input an error message may quote.
ECHO_CHARS = 64


class RefusedRequest(ValueError):
    """A request the job core refuses: the HTTP status it stands for, a stable code and a message."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


class InvalidImage(RefusedRequest):
    """An upload that validation refuses."""


class InvalidDocument(RefusedRequest):
    """A PDF or multi-page TIFF, or one of its pages, that cannot be read within the limits."""


class InvalidOptions(RefusedRequest):
    """Request options that cannot become a job's options (an engine, preset, language, fold or weights
    this deployment does not have or allow)."""


def clip(value: object, limit: int = ECHO_CHARS) -> str:
    """``value`` as text, cut to ``limit`` characters (marked with an ellipsis when cut)."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
