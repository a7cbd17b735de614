"""The error catalogue (app/error_codes.py) is the one list of codes: every raise site in app/ uses a code and
status it lists, it lists nothing unused, and the README and /openapi.json are rendered from it. Error answers
quote at most a short prefix of what the client sent; the request limits answer in our JSON."""

from __future__ import annotations

import ast
import base64
import importlib.util
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from app import create_app
from app.error_codes import ERRORS, JOB_ERRORS, JOB_FAILED_STATUS, PAIRS, is_catalogued, markdown_tables
from app.errors import HTTP_CODES, MAX_HEADER_BYTES, MAX_URI_BYTES
from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
# The raise sites whose code is not a literal: a synchronous request's job failed, and its own error code
# (a job error code) is answered with 503. What the job core refuses (an upload, options, a document) is
# answered by ApiError.refused with its own status and code, whose raise sites are checked like the API's.
DYNAMIC_CODE_SITES = {("app/jobs.py", JOB_FAILED_STATUS)}
# Errors of the job core that the API answers as they are, and where they are raised: those raise sites
# count as the API's.
MAPPED_ERRORS = {
    "InvalidImage": (ROOT / "jobs" / "images.py",),
    "InvalidOptions": (
        ROOT / "jobs" / "resolution.py",
        ROOT / "jobs" / "languages.py",
        ROOT / "jobs" / "document_jobs.py",
    ),
    "InvalidDocument": (ROOT / "jobs" / "document_files.py",),
}
# Outside app/, where a job's view gets its error (a document's, a batch's): its {"code": ...} records are job errors.
JOB_VIEW_SOURCES = ("jobs/document_view.py", "jobs/batches.py")
MEGABYTE = 1024 * 1024
MAX_ECHO = 80  # the longest quote of a client's value: a preset name (ensemble.presets.UnknownPreset)


# --- scanning the source ------------------------------------------------------------------------------


def _sources(*folders: Path) -> Iterator[tuple[str, ast.Module]]:
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _alternatives(status: ast.expr, code: ast.expr) -> list[tuple[ast.expr, ast.expr]]:
    """The (status, code) expressions a call may pass: both branches of ``a if c else b`` on the same test."""
    if isinstance(status, ast.IfExp) and isinstance(code, ast.IfExp) and ast.dump(status.test) == ast.dump(code.test):
        return [(status.body, code.body), (status.orelse, code.orelse)]
    return [(status, code)]


def _literal(node: ast.expr) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def raise_sites() -> list[tuple[str, int, object, object]]:
    """Every ``ApiError(status, code, ...)`` in app/, and every ``InvalidImage`` or ``InvalidOptions(status,
    code, ...)`` the API answers as it is (:data:`MAPPED_ERRORS`): (file, line, status, code); a non-literal
    is None."""
    sites = []
    mapped = sorted({path for paths in MAPPED_ERRORS.values() for path in paths})
    sources = [*_sources(APP), *(source for path in mapped for source in _file(path))]
    for path, tree in sources:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node.func) in ("ApiError", *MAPPED_ERRORS)):
                continue
            if len(node.args) >= 2:
                for status, code in _alternatives(node.args[0], node.args[1]):
                    sites.append((path, node.lineno, _literal(status), _literal(code)))
    return sites


def _file(path: Path) -> Iterator[tuple[str, ast.Module]]:
    yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def error_body_sites() -> list[tuple[str, int, object, object]]:
    """Every ``return error_body("code", ...), status`` in app/: (file, line, status, code)."""
    sites = []
    for path, tree in _sources(APP):
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) >= 2):
                continue
            call, status = node.value.elts[0], node.value.elts[1]
            if isinstance(call, ast.Call) and _name(call.func) == "error_body" and call.args:
                sites.append((path, node.lineno, _literal(status), _literal(call.args[0])))
    return sites


def job_error_sites() -> list[tuple[str, int, object]]:
    """Codes a job fails with: ``fail_job(id, "code", ...)`` in app/, workers/ and jobs/, ``{"code": "..."}``
    records in app/ and the job views, and the default of the synchronous endpoints' ``error.get("code", "...")``."""
    sites = []
    for path, tree in _sources(APP, ROOT / "workers", ROOT / "jobs"):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) == "fail_job" and len(node.args) >= 2:
                sites.append((path, node.lineno, _literal(node.args[1])))
            in_app = path.startswith("app/")
            if (in_app or path in JOB_VIEW_SOURCES) and isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "code" and isinstance(value, ast.Constant):
                        sites.append((path, node.lineno, value.value))
            if in_app and _is_code_default(node):  # error.get("code", "job_failed")
                sites.append((path, node.lineno, _literal(node.args[1])))  # type: ignore[attr-defined]
    return sites


def _is_code_default(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and _name(node.func) == "get" and len(node.args) == 2):
        return False
    return _literal(node.args[0]) == "code" and isinstance(_literal(node.args[1]), str)


def gunicorn_codes() -> dict[int, str]:
    """``GUNICORN_CODES`` of deploy/gunicorn.conf.py, read without running the file."""
    tree = ast.parse(GUNICORN_CONF.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(_name(t) == "GUNICORN_CODES" for t in node.targets):
            found: dict[int, str] = ast.literal_eval(node.value)
            return found
    raise AssertionError("deploy/gunicorn.conf.py defines no GUNICORN_CODES")


def test_the_scan_finds_the_raise_sites() -> None:
    assert len(raise_sites()) > 40
    found = {(p, s, c) for p, _, s, c in raise_sites()}
    assert ("app/jobs.py", 404, "job_not_found") in found
    assert ("jobs/languages.py", 422, "unsupported_language") in found
    assert ("jobs/resolution.py", 422, "unknown_preset") in found
    assert ("jobs/document_files.py", 413, "too_many_pages") in found


def test_every_raise_site_uses_a_catalogued_code_with_its_status() -> None:
    wrong = []
    for path, line, status, code in raise_sites():
        if code is None:  # a code that is not a literal: only where a job's own error code is answered
            if (path, status) not in DYNAMIC_CODE_SITES:
                wrong.append(f"{path}:{line}: ApiError({status}, <not a literal>)")
        elif (code, status) not in PAIRS:
            wrong.append(f"{path}:{line}: ApiError({status}, {code!r}) is not in app/error_codes.py")
    for path, line, status, code in error_body_sites():
        if code is not None and (code, status) not in PAIRS:
            wrong.append(f"{path}:{line}: error_body({code!r}), {status} is not in app/error_codes.py")
    assert not wrong, "\n".join(wrong)


def test_every_job_error_code_is_catalogued() -> None:
    job_codes = {error.code for error in JOB_ERRORS}
    request_codes = {error.code for error in ERRORS}
    wrong = [
        f"{path}:{line}: {code!r}"
        for path, line, code in job_error_sites()
        if code not in job_codes and code not in request_codes
    ]
    assert not wrong, "job error codes missing from JOB_ERRORS:\n" + "\n".join(wrong)


def test_the_http_layers_codes_are_catalogued() -> None:
    for status, code in {**HTTP_CODES, **gunicorn_codes()}.items():
        assert (code, status) in PAIRS, f"{status} {code}"


def test_the_catalogue_lists_nothing_that_is_never_answered() -> None:
    used = {(code, status) for _, _, status, code in raise_sites() + error_body_sites()}
    used |= {(code, status) for status, code in {**HTTP_CODES, **gunicorn_codes()}.items()}
    assert sorted(PAIRS - used) == []
    job_used = {code for _, _, code in job_error_sites()}
    assert sorted({error.code for error in JOB_ERRORS} - job_used) == []


def test_the_catalogue_is_well_formed() -> None:
    assert len(PAIRS) == len(ERRORS), "a (code, status) listed twice"
    for error in ERRORS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", error.code) and 400 <= error.status < 600
        assert error.meaning and "\n" not in error.meaning and "|" not in error.meaning
    assert len({error.code for error in JOB_ERRORS}) == len(JOB_ERRORS)


# --- rendered into the README and /openapi.json -----------------------------------------------------------


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{title}\n")
    end = text.find("\n#", start + len(title) + 2)
    return text[start:end]


def test_the_readme_tables_are_the_catalogue() -> None:
    section = _readme_section("### Error codes")
    tables = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    expected = "\n".join(line for line in markdown_tables().splitlines() if line.startswith("|"))
    assert tables == expected, "README: paste app.error_codes.markdown_tables() under ### Error codes"


@pytest.fixture(scope="module")
def app():
    app = create_app(Settings(redis_url="redis://127.0.0.1:1/0", max_upload_bytes=2 * MEGABYTE))
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def spec(app) -> dict:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    found: dict = response.get_json()
    return found


def test_openapi_carries_the_catalogue(spec: dict) -> None:
    extension = spec["x-error-codes"]
    assert {(e["code"], e["status"]) for e in extension["responses"]} == PAIRS
    assert all(e["description"] for e in extension["responses"] + extension["jobs"])
    assert {e["code"] for e in extension["jobs"]} == {error.code for error in JOB_ERRORS}
    codes = spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert set(codes) == {code for code, _ in PAIRS} | {error.code for error in JOB_ERRORS}


def test_openapi_documents_every_error_answer_with_the_error_schema(spec: dict) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "414", "431", "500"):
                assert status in operation["responses"], f"{method} {path} {status}"
            for status, response in operation["responses"].items():
                if int(status) < 400 or (path, status) == ("/ready", "503"):
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {status}"
    assert "HTTPError" not in spec["components"]["schemas"]


def test_openapi_says_a_json_image_is_non_empty_base64(spec: dict) -> None:
    for path in ("/v1/jobs", "/v1/predict", "/v1/predict_text"):
        schema = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        image = schema["properties"]["image"]
        assert image["minLength"] == 1
        pattern = re.compile(image["pattern"])
        assert pattern.match(base64.b64encode(b"\x89PNG").decode()) and pattern.match("data:image/png;base64,QUJD")
        assert not pattern.match("") or image["minLength"] == 1
        assert not pattern.match("%%%") and not pattern.match("QUJDRA")


# --- no echo of huge values ---------------------------------------------------------------------------


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (40, 20), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def _longest_run(text: str) -> int:
    return max((len(match.group(0)) for match in re.finditer(r"(.)\1*", text)), default=0)


HUGE = "x" * MEGABYTE


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"json": {"image": "IMAGE", "preset": HUGE}}, "unknown_preset"),
        ({"json": {"image": "IMAGE", "engines": [HUGE]}}, "unknown_engine"),
        ({"json": {"image": "IMAGE", "weights": {HUGE: 1.0}}}, "unknown_engine"),
        ({"json": {"image": "IMAGE", "weights": {HUGE: "heavy"}}}, "invalid_request"),
        ({"json": {"image": "IMAGE", "mode": HUGE}}, "invalid_request"),
        ({"json": {"image": "IMAGE", HUGE: HUGE, "top_k": HUGE}}, "invalid_request"),
        ({"json": {"image": HUGE + "%"}}, "invalid_base64"),
        ({"json": {"image": "data:" + HUGE}}, "invalid_base64"),
        ({"data": {"image": (io.BytesIO(b"PNG"), "a.png"), "weights": "{" + HUGE}}, "payload_too_large"),
        ({"data": {"image": (io.BytesIO(b"x" * 3 * MEGABYTE), "a.png")}}, "image_too_large"),
        ({"data": "{" + HUGE, "content_type": "application/json"}, "invalid_json"),
    ],
)
def test_error_answers_never_echo_a_megabyte(app, kwargs: dict, code: str) -> None:
    if "json" in kwargs:
        kwargs = {
            "json": {k: base64.b64encode(_png()).decode() if v == "IMAGE" else v for k, v in kwargs["json"].items()}
        }
    response = app.test_client().post("/v1/jobs", **kwargs)
    body = response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code, body[:500]
    assert len(body) < 2_000 and _longest_run(body) <= MAX_ECHO


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v1/jobs/" + "j" * 3000, "job_not_found"),
        ("/v1/jobs/" + "j" * 3000 + "/result?format=" + "f" * 900, "invalid_format"),
    ],
)
def test_long_ids_and_formats_are_quoted_in_part(app, path: str, code: str) -> None:
    response = app.test_client().get(path)
    body = response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] in (code, "backend_unavailable")
    assert _longest_run(body) <= MAX_ECHO


# --- request limits -----------------------------------------------------------------------------------


def test_a_target_over_the_limit_is_414_json(app) -> None:
    response = app.test_client().get("/v1/jobs/" + "j" * MAX_URI_BYTES)
    assert response.status_code == 414 and response.get_json()["error"]["code"] == "uri_too_long"
    response = app.test_client().get("/health?q=" + "q" * MAX_URI_BYTES)
    assert response.status_code == 414 and response.get_json()["error"]["code"] == "uri_too_long"
    assert app.test_client().get("/health?q=" + "q" * (MAX_URI_BYTES - 100)).status_code == 200


def test_a_header_over_the_limit_is_431_json(app) -> None:
    response = app.test_client().get("/health", headers={"Idempotency-Key": "k" * MAX_HEADER_BYTES})
    assert response.status_code == 431 and response.get_json()["error"]["code"] == "header_too_large"
    assert len(response.get_data()) < 500
    assert app.test_client().get("/health", headers={"X-A": "k" * (MAX_HEADER_BYTES - 100)}).status_code == 200


def test_the_answer_to_a_status_the_api_does_not_use_is_catalogued(app) -> None:
    response = app.test_client().get("/docs/static/swagger-ui.css", headers={"Range": "bytes=999999999-"})
    assert response.status_code == 416
    assert is_catalogued(response.get_json()["error"]["code"], 416)


# --- gunicorn's own answers ---------------------------------------------------------------------------


def _gunicorn_conf() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gunicorn_conf", GUNICORN_CONF)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Socket:
    def __init__(self) -> None:
        self.sent = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)


@pytest.mark.parametrize(
    ("status", "expected_status", "code"),
    [
        (400, 400, "bad_request"),
        (414, 414, "uri_too_long"),
        (431, 431, "header_too_large"),
        (501, 400, "bad_request"),
        (403, 400, "bad_request"),
    ],
)
def test_gunicorn_errors_are_our_json(status: int, expected_status: int, code: str) -> None:
    conf = _gunicorn_conf()
    sock = _Socket()
    conf.write_json_error(sock, status, "Reason", "Invalid Request Line '" + "x" * 10_000 + "'")
    head, _, body = sock.sent.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {expected_status} ".encode())
    assert b"Content-Type: application/json" in head
    error = json.loads(body)["error"]
    assert error["code"] == code and is_catalogued(code, expected_status)
    assert len(error["message"]) < 200
    assert conf.limit_request_line == 8190 and conf.limit_request_field_size > MAX_HEADER_BYTES
