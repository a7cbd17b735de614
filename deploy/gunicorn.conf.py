"""gunicorn settings of the API: ``ocr serve`` passes this file; ``gunicorn -c deploy/gunicorn.conf.py app.wsgi:app``.

Prometheus multiprocess mode: every worker process writes its samples under ``PROMETHEUS_MULTIPROC_DIR``
and ``/metrics`` adds them up. The directory (default: ``<tmp>/ocr-metrics/api-<bind>``) is emptied when
the server starts, and a worker process that exits is marked dead. Nothing here may import
``prometheus_client`` before the variable is set: the library picks its value store at import time.

Request limits: the app refuses a request target over 4 KiB (414) and a header over 8 KiB (431) in its own
JSON (``app/errors.py``). gunicorn's hard caps sit above those so that it rarely answers first; when it does
(a request line over 8190 bytes, its maximum; a header over 64 KiB; more than 100 headers; a request that is
not HTTP), its answer is the same JSON shape (:func:`write_json_error`), never an HTML page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import Any

from gunicorn import util

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

worker_class = "gthread"
accesslog = "-"

# Hard caps, above the app's own limits. gunicorn takes at most 8190 for the request line (0 would mean
# no limit at all); a header field may be longer, up to the cap here, so that the app answers it.
limit_request_line = 8190
limit_request_field_size = 64 * 1024
limit_request_fields = 100

# The error codes of gunicorn's own answers (app/error_codes.py lists them); any other status: bad_request.
GUNICORN_CODES = {
    400: "bad_request",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "header_too_large",
    500: "internal_error",
}
# gunicorn answers a transfer coding it does not know with 501; that is the client's request, so a 4xx (a
# 5xx is ours to fix, and pages whoever watches the error rate).
CLIENT_FAULTS = {501: 400}
# gunicorn's messages quote the request (a whole request line): only this much of it is kept (as app.errors
# does; the app is not imported here, see above).
ECHO_CHARS = 64


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's error answer (``gunicorn.util.write_error``) in the API's JSON error shape."""
    status_int = CLIENT_FAULTS.get(status_int, status_int)
    if status_int not in GUNICORN_CODES:
        status_int = 500 if status_int >= 500 else 400
    reason = HTTPStatus(status_int).phrase  # of the status answered (gunicorn sends "Bad Request" with its 501)
    detail = mesg if len(mesg) <= ECHO_CHARS else mesg[:ECHO_CHARS] + "..."
    message = f"{reason}: {detail}" if detail else reason
    body = json.dumps({"error": {"code": GUNICORN_CODES[status_int], "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def post_worker_init(worker: Any) -> None:
    """Answer gunicorn's own errors (malformed requests, its hard caps) as JSON in this worker process."""
    util.write_error = write_json_error


def on_starting(server: Any) -> None:
    """Choose and empty the metrics directory before any worker process starts (they inherit it)."""
    bind = re.sub(r"[^A-Za-z0-9_.-]", "_", server.cfg.bind[0])
    default = Path(tempfile.gettempdir()) / "ocr-metrics" / f"api-{bind}"
    path = Path(os.environ.setdefault(MULTIPROC_ENV, str(default)))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    server.log.info("prometheus multiprocess directory: %s", path)


def child_exit(server: Any, worker: Any) -> None:
    """Drop the live-gauge samples of a worker process that exited."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
