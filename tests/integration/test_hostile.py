"""The hostile-input corpus (``tests/hostile/corpus.py``) against the real gunicorn: every request gets a 4xx in
our JSON error shape with a catalogued code, or, for an input that is valid but odd, a correct result; never
a 5xx, never an HTML page, never a dead worker."""

from __future__ import annotations

import json
import re
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from app.error_codes import is_catalogued
from config.settings import Settings
from tests.hostile.corpus import OK, TESSERACT, Hostile, files, requests_corpus
from tests.integration.conftest import WorkerProcess

pytestmark = pytest.mark.integration

# An error answer quotes at most this much of any one value the client sent (the longest: a preset name).
MAX_ECHO = 80
MAX_ERROR_BYTES = 2_000
WAIT_S = 30


def send(url: str, hostile: Hostile) -> tuple[int, dict[str, str], bytes]:
    """Send one request of the corpus; returns status, headers (lower-case names) and body."""
    if hostile.raw is not None:
        return _send_raw(url, hostile.raw)
    kwargs: dict[str, Any] = {"headers": hostile.headers, "timeout": 60}
    if hostile.files is not None:
        kwargs.update(files=hostile.files, data=hostile.form or {})
    elif hostile.json_body is not None:
        kwargs["json"] = hostile.json_body
    elif hostile.body is not None:
        kwargs["data"] = hostile.body
    response = requests.request(hostile.method, url + hostile.path, **kwargs)
    headers = {name.lower(): value for name, value in response.headers.items()}
    return response.status_code, headers, response.content


def _send_raw(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0].split(b":")[1]):
                break
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _longest_echo(body: bytes) -> int:
    """The longest run of one character in the answer: the corpus' big values are runs of one character."""
    text = body.decode("utf-8", "replace")
    return max((len(match.group(0)) for match in re.finditer(r"(.)\1*", text)), default=0)


def _job_outcome(url: str, status: int, answer: dict[str, Any], hostile: Hostile) -> str | None:
    """For an accepted request: None when it is right, else what is wrong."""
    if hostile.path == "/v1/batch_predict":
        # The good image is read; each bad one fails alone, with a catalogued code.
        items = answer["results"]
        codes = [item["error"]["code"] for item in items[1:] if item["error"]]
        if len(codes) != len(items) - 1 or not all(_catalogued_4xx(code) for code in codes):
            return f"batch items: {items[1:]}"
        return None if items[0]["status"] == "succeeded" else f"first item: {items[0]}"
    if hostile.path in ("/v1/predict", "/v1/predict_text"):
        return None if status == 200 else f"status {status}"
    if status != 202:
        return f"status {status}"
    if not hostile.wait and not answer.get("document"):
        return None
    deadline = time.monotonic() + WAIT_S
    job = answer
    while job.get("status") not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        polled = requests.get(f"{url}/v1/jobs/{answer['id']}", timeout=10)
        if polled.status_code != 200:
            return f"polling the job: {polled.status_code} {polled.text[:300]}"
        job = polled.json()
    if job["status"] == "succeeded":
        return None
    if answer.get("document") and job["status"] == "failed":
        # A document whose pages are blank may fail page by page; each page's error must be catalogued.
        errors = [page["error"] for page in job.get("pages", []) if page["error"]]
        if all(_catalogued_4xx(error["code"]) or is_catalogued(error["code"], 503) for error in errors):
            return None
    return f"job ended {job['status']}: {job.get('error')} pages={job.get('pages')}"


def _catalogued_4xx(code: str) -> bool:
    return any(is_catalogued(code, status) for status in range(400, 500))


def check(url: str, hostile: Hostile) -> str | None:
    """None when the answer to ``hostile`` is right; else why it is not."""
    try:
        status, headers, body = send(url, hostile)
    except requests.RequestException as exc:
        return f"no answer: {type(exc).__name__}: {str(exc)[:200]}"
    if status >= 500:
        return f"{status}: {body[:300]!r}"
    if not headers.get("content-type", "").startswith("application/json"):
        return f"{status} is not JSON ({headers.get('content-type')}): {body[:200]!r}"
    answer = json.loads(body)
    if 200 <= status < 300:
        if OK not in hostile.expect:
            return f"accepted ({status}), expected {sorted(hostile.expect)}"
        return _job_outcome(url, status, answer, hostile)
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict) or set(error) - {"code", "message", "detail"} or "message" not in error:
        return f"{status}: not our error shape: {body[:200]!r}"
    code = error.get("code")
    if not is_catalogued(code, status):
        return f"{status} {code} is not in the catalogue"
    if code not in hostile.expect:
        return f"{status} {code}: {error['message'][:200]!r}; expected {sorted(hostile.expect)}"
    if len(body) > MAX_ERROR_BYTES or _longest_echo(body) > MAX_ECHO:
        return f"the error answer quotes too much of the request ({len(body)} bytes)"
    return None


@pytest.fixture(scope="module")
def corpus() -> list[Hostile]:
    # The live server reads the same OCR_* environment as this process.
    settings = Settings()
    return requests_corpus(settings.max_batch_images, settings.max_pages)


def test_the_corpus_is_large_and_varied(corpus: list[Hostile]) -> None:
    kinds = {hostile.kind for hostile in corpus}
    assert len(kinds) == len(corpus) >= 45
    assert len(files()) >= 45


def _gunicorn_boots(tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many worker processes ``live_server``'s gunicorn has started (its log is in the session's tmp)."""
    logs = tmp_path_factory.getbasetemp().glob("api[0-9]*/gunicorn.log")
    return sum(log.read_text(errors="replace").count("Booting worker") for log in logs)


def test_every_hostile_request_gets_a_json_4xx_or_a_correct_result(
    live_server: str, main_worker: WorkerProcess, corpus: list[Hostile], tmp_path_factory: pytest.TempPathFactory
) -> None:
    boots = _gunicorn_boots(tmp_path_factory)
    started = time.monotonic()
    wrong = {}
    for hostile in corpus:
        problem = check(live_server, hostile)
        if problem:
            wrong[hostile.kind] = problem
    assert not wrong, "\n".join(f"{kind}: {problem}" for kind, problem in wrong.items())
    assert time.monotonic() - started < 120

    # Nothing died: no gunicorn worker was replaced, the Celery worker still runs, and a normal job still
    # succeeds through the same server.
    assert _gunicorn_boots(tmp_path_factory) == boots >= 2
    assert main_worker.process.poll() is None
    assert requests.get(f"{live_server}/health", timeout=5).status_code == 200
    line = files()["text_line.png"]
    response = requests.post(
        f"{live_server}/v1/predict_text", files={"image": ("a.png", line, "image/png")}, data=TESSERACT, timeout=60
    )
    assert response.status_code == 200, response.text
    assert "Hello" in response.json()["text"]
