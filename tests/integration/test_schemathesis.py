"""schemathesis against the real gunicorn's own /openapi.json: every operation, every built-in check, bounded.

Configuration, with the reason for each departure from schemathesis' defaults:

- ``positive_data_acceptance`` also accepts 400, 413, 415 and 422 for schema-valid requests: a JSON Schema
  cannot say "the base64 of a decodable image" or "an engine enabled on this server", so a schema-valid image
  is refused for its content (``unsupported_format``, ``unknown_engine``...). ``schema_level_codes_only_for_
  invalid_requests`` below makes that precise: a schema-valid recognition request never gets one of the codes
  that mean "does not match the schema".
- ``negative_data_rejection`` also accepts 413, 414 and 431: a generated value may be over a size limit.
- The examples and fuzzing phases draw ``MAX_EXAMPLES`` cases per operation; the coverage phase adds the
  schema's boundary cases. The whole run stays well under two minutes.
- Hypothesis is derandomized: the same cases every run, so a fresh clone's CI sees what a local run saw. A
  random draw once failed on a schemathesis artefact: a form field mutated to an empty array is sent as no
  field at all, a valid request, which the server rightly accepts.
- Nothing is excluded. schemathesis sends real (1x1) PNG, JPEG, GIF, WebP and PDF files, so some requests
  start real jobs; against the session's ``live_server`` (engines enabled that no test worker serves) every
  synchronous one would wait ``OCR_SYNC_TIMEOUT_S`` (60 s) for a 504. So this module runs its own gunicorn,
  the same app and ``deploy/gunicorn.conf.py``, with tesseract the one engine (``main_worker`` serves it) and
  a 5 s synchronous timeout: its jobs finish, and their real answers are checked against the schema too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from app import create_app
from app.error_codes import is_catalogued
from tests.integration.conftest import WorkerProcess, gunicorn, make_settings, service_env

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 15
RECOGNITION = ("/v1/jobs", "/v1/predict", "/v1/predict_text", "/v1/batch_predict")
# Codes that say a request does not match the documented schema.
SCHEMA_LEVEL_CODES = frozenset({"invalid_request", "invalid_json", "unsupported_media_type", "missing_image"})
CONFIG = {
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "400", "404", "409", "413", "415", "422"]},
        "negative_data_rejection": {
            "expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422", "431"]
        },
    },
    "request-timeout": 30,
}
STARTED: dict[str, float] = {}


@schemathesis.check
def our_error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error answer is ``{"error": {"code", "message"}}`` with a code the catalogue lists for its status."""
    if response.status_code < 400 or (case.path == "/ready" and response.status_code == 503):
        return None
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict) and isinstance(error.get("message"), str), f"not our error shape: {body!r:.300}"
    assert is_catalogued(error.get("code"), response.status_code), f"{response.status_code} {error.get('code')}"
    return None


@schemathesis.check
def schema_level_codes_only_for_invalid_requests(ctx: Any, response: Any, case: Any) -> bool | None:
    """A recognition request the schema accepts is never refused as not matching the schema."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or case.path not in RECOGNITION:
        return None
    if response.status_code in (400, 415, 422):
        code = response.json()["error"]["code"]
        assert code not in SCHEMA_LEVEL_CODES, f"a schema-valid request got {code}: {response.text[:300]}"
    return None


def _own_spec() -> dict[str, Any]:
    """The app's /openapi.json, built in-process: the test cases are drawn from it when this module is
    collected (schemathesis' fixture-based lazy loading fails under pytest 9.2: it reads the removed
    ``Node._nodeid``), and ``test_the_live_server_serves_this_contract`` checks that the live server serves
    the same document."""
    app = create_app(make_settings(redis_url="redis://127.0.0.1:1/0", engines=["tesseract"], sync_timeout_s=5))
    spec: dict[str, Any] = app.test_client().get("/openapi.json").get_json()
    return spec


SPEC = _own_spec()
schema = schemathesis.openapi.from_dict(SPEC, config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture(scope="module")
def schemathesis_server(main_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The API under gunicorn as ``live_server`` starts it, with tesseract only and a 5 s synchronous timeout."""
    env = {**service_env(), "OCR_ENGINES": "tesseract", "OCR_SYNC_TIMEOUT_S": "5"}
    with gunicorn(tmp_path_factory.mktemp("schemathesis_api"), env) as url:
        yield url


def test_the_live_server_serves_this_contract(schemathesis_server: str) -> None:
    STARTED.setdefault("at", time.monotonic())
    served = requests.get(f"{schemathesis_server}/openapi.json", timeout=10).json()
    assert {k: v for k, v in served.items() if k != "servers"} == {k: v for k, v in SPEC.items() if k != "servers"}
    assert served["x-error-codes"]["responses"]


@schema.parametrize()
@settings(
    deadline=None, suppress_health_check=list(HealthCheck), max_examples=MAX_EXAMPLES, database=None, derandomize=True
)
def test_the_api_keeps_its_own_openapi_contract(case: Any, schemathesis_server: str) -> None:
    case.call_and_validate(base_url=schemathesis_server)


def test_the_schemathesis_run_was_bounded() -> None:
    # Runs after the parametrized test above (same module, file order).
    assert time.monotonic() - STARTED.get("at", time.monotonic()) < 120
