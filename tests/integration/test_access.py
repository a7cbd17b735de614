"""Opening the service to a network, against the real Redis and real workers: API keys and roles, job
ownership, quotas with 429, runtime configuration seen without restarts, signed and retried webhooks."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.quotas import QUEUE_DEPTH_MAX_AGE_S, Quotas
from app.runtime_config import AUDIT_KEY, CONFIG_KEY
from jobs.keys import KeyStore
from jobs.store import JobStore
from tests.integration.conftest import make_settings, render_png, wait_job

pytestmark = pytest.mark.integration
TESSERACT = {"engines": "tesseract", "cache": "false"}


@pytest.fixture(scope="module")
def keys(redis_client):
    store = KeyStore(redis_client)
    return {
        "alice": store.create("submit", "alice"),
        "bob": store.create("submit", "bob"),
        "admin": store.create("admin", "ops"),
        "slow": store.create("submit", "throttled", requests_per_second=2),
        "busy": store.create("submit", "one job at a time", max_active_jobs=1),
        "pages": store.create("submit", "two pages a day", pages_per_day=2),
    }


@pytest.fixture(scope="module")
def client(main_worker):
    from app import create_app

    app = create_app(make_settings(auth="on"))
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture(autouse=True)
def _clean_config(redis_client):
    redis_client.delete(CONFIG_KEY, AUDIT_KEY)
    yield
    redis_client.delete(CONFIG_KEY, AUDIT_KEY)


def auth(new_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {new_key.key}"}


def submit(client, new_key, text: str = "Key", **fields: str):
    form = {"image": (io.BytesIO(render_png(text)), "t.png"), "mode": "line", **TESSERACT, **fields}
    return client.post("/v1/jobs", data=form, content_type="multipart/form-data", headers=auth(new_key))


def finished(client, new_key, job_id: str, timeout: float = 30) -> dict:
    return wait_job(lambda jid: client.get(f"/v1/jobs/{jid}", headers=auth(new_key)).get_json(), job_id, timeout)


def test_requests_without_a_valid_key_are_401_and_health_stays_open(client, keys) -> None:
    missing = client.get("/v1/jobs/whatever")
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "missing_api_key"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/v1/jobs/whatever", headers={"Authorization": "Bearer ocr_nope_nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_api_key"
    assert client.get("/health").status_code == 200


def test_a_key_cannot_read_another_keys_job_and_an_admin_can(client, keys) -> None:
    response = submit(client, keys["alice"], "Alice")
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["id"]
    assert finished(client, keys["alice"], job_id)["status"] == "succeeded"
    other = client.get(f"/v1/jobs/{job_id}", headers=auth(keys["bob"]))
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "job_not_found"
    assert client.get(f"/v1/jobs/{job_id}/result?format=text", headers=auth(keys["bob"])).status_code == 404
    assert client.get(f"/v1/jobs/{job_id}", headers=auth(keys["admin"])).status_code == 200


def test_the_cache_and_idempotency_keys_are_per_key(client, keys) -> None:
    first = submit(client, keys["alice"], "Shared words", cache="true")
    assert finished(client, keys["alice"], first.get_json()["id"])["status"] == "succeeded"
    again = submit(client, keys["alice"], "Shared words", cache="true")
    assert again.get_json()["cached"] is True  # the same key is served from its own cache
    other = submit(client, keys["bob"], "Shared words", cache="true")
    assert other.get_json()["cached"] is False  # another key learns nothing from alice's job
    headers = {**auth(keys["alice"]), "Idempotency-Key": "order-7"}
    form = {"image": (io.BytesIO(render_png("Idem")), "t.png"), "mode": "line", **TESSERACT}
    a = client.post("/v1/jobs", data=form, content_type="multipart/form-data", headers=headers).get_json()
    headers = {**auth(keys["bob"]), "Idempotency-Key": "order-7"}
    form = {"image": (io.BytesIO(render_png("Idem")), "t.png"), "mode": "line", **TESSERACT}
    b = client.post("/v1/jobs", data=form, content_type="multipart/form-data", headers=headers).get_json()
    assert a["id"] != b["id"]


def test_a_revoked_key_gets_401(client, redis_client) -> None:
    store = KeyStore(redis_client)
    new = store.create("submit", "leaving")
    assert client.get("/v1/jobs/none", headers=auth(new)).status_code == 404
    store.revoke(new.record.id)
    response = client.get("/v1/jobs/none", headers=auth(new))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_api_key"


def test_over_the_request_rate_is_429_with_retry_after(client, keys) -> None:
    time.sleep(1.1)  # a fresh window
    statuses = [client.get("/v1/jobs/none", headers=auth(keys["slow"])) for _ in range(4)]
    assert [r.status_code for r in statuses[:2]] == [404, 404]
    assert statuses[0].headers["RateLimit-Limit"] == "2"
    refused = statuses[-1]
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["RateLimit-Remaining"] == "0"


def test_too_many_unfinished_jobs_is_429_until_one_finishes(client, keys) -> None:
    first = submit(client, keys["busy"], "One")
    assert first.status_code == 202
    second = submit(client, keys["busy"], "Two")
    if second.status_code == 202:  # the first had already finished: tesseract is fast
        pytest.fail("the second job was admitted while the first was unfinished")  # pragma: no cover
    assert second.status_code == 429 and second.get_json()["error"]["code"] == "too_many_active_jobs"
    assert "Retry-After" in second.headers
    finished(client, keys["busy"], first.get_json()["id"])
    assert submit(client, keys["busy"], "Three").status_code == 202


def test_pages_per_day_is_429_with_retry_after(client, keys) -> None:
    assert submit(client, keys["pages"], "A").status_code == 202
    assert submit(client, keys["pages"], "B").status_code == 202
    third = submit(client, keys["pages"], "C")
    assert third.status_code == 429 and third.get_json()["error"]["code"] == "daily_pages_exceeded"
    assert 0 < int(third.headers["Retry-After"]) <= 24 * 3600


def test_queues_over_their_bound_answer_503(redis_client) -> None:
    settings = make_settings(max_queue_depth=3)
    quotas = Quotas.create(settings, JobStore(redis_client, 60, 60))
    redis_client.delete("test.backpressure")
    quotas.check_backpressure(["test.backpressure"])
    redis_client.rpush("test.backpressure", *range(5))
    try:
        quotas.check_backpressure(["test.backpressure"])  # this process read the depth just now: still 0
        time.sleep(QUEUE_DEPTH_MAX_AGE_S + 0.05)
        with pytest.raises(Exception) as caught:
            quotas.check_backpressure(["test.backpressure"])
        assert caught.value.status_code == 503 and caught.value.headers["Retry-After"]
    finally:
        redis_client.delete("test.backpressure")


def test_a_submit_key_cannot_change_the_configuration(client, keys) -> None:
    response = client.put("/v1/config", json={"default_method": "majority"}, headers=auth(keys["alice"]))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert client.get("/v1/config", headers=auth(keys["alice"])).status_code == 403


def test_an_invalid_configuration_is_422_naming_the_field(client, keys) -> None:
    bad = {"presets": {"mine": {"tesseract": -1}}}
    response = client.put("/v1/config", json=bad, headers=auth(keys["admin"]))
    assert response.status_code == 422
    assert response.get_json()["error"]["detail"] == {"field": "presets.mine.tesseract"}
    response = client.put("/v1/config", json={"engines": ["nonesuch"]}, headers=auth(keys["admin"]))
    assert response.status_code == 422 and response.get_json()["error"]["detail"] == {"field": "engines"}


def test_a_configuration_change_is_used_by_new_jobs_without_a_restart(client, keys) -> None:
    before = submit(client, keys["alice"], "Before", engines="tesseract,broken").get_json()
    before = finished(client, keys["alice"], before["id"])
    change = {
        "presets": {"runtime": {"tesseract": 2.0, "broken": 0.5}},
        "default_preset": "runtime",
        "default_method": "confidence",
    }
    response = client.put("/v1/config", json=change, headers={**auth(keys["admin"]), "If-Match": "0"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 1 and response.get_json()["effective"]["default_method"] == "confidence"
    time.sleep(1.1)  # every process picks it up within OCR_RUNTIME_CONFIG_MAX_AGE_S
    after = submit(client, keys["alice"], "Before", engines="tesseract,broken").get_json()
    after = finished(client, keys["alice"], after["id"])
    # The running workers voted the new job with the new weights and method, and it was not served from
    # the cache of the old configuration.
    assert after["status"] == "succeeded" and after["cached"] is False
    assert after["result"]["method"] == "confidence" and after["result"]["weights"]["tesseract"] == 2.0
    assert before["result"]["method"] != "confidence"
    stale = client.put(
        "/v1/config", json={"default_method": "weighted"}, headers={**auth(keys["admin"]), "If-Match": "0"}
    )
    assert stale.status_code == 409
    audit = client.get("/v1/config/audit", headers=auth(keys["admin"])).get_json()["changes"]
    assert audit[0]["version"] == 1 and audit[0]["by"] == f"key:{keys['admin'].record.id}"


class Receiver:
    """An HTTP receiver on 127.0.0.1 that fails the first ``failures`` deliveries with a 500."""

    def __init__(self, failures: int) -> None:
        self.failures, self.received = failures, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(500 if len(receiver.received) <= receiver.failures else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()


def test_a_webhook_arrives_signed_and_a_failing_receiver_gets_the_third_attempt(client, keys) -> None:
    receiver = Receiver(failures=2)
    try:
        response = submit(client, keys["alice"], "Hook", callback_url=receiver.url)
        assert response.status_code == 202, response.get_json()
        job_id = response.get_json()["id"]
        deadline = time.monotonic() + 30
        while len(receiver.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        receiver.close()
    assert len(receiver.received) == 3
    headers, body = receiver.received[-1]
    secret = keys["alice"].record.webhook_secret
    expected = hmac.new(secret.encode(), f"{headers['X-OCR-Timestamp']}.".encode() + body, hashlib.sha256)
    assert headers["X-OCR-Signature"] == f"sha256={expected.hexdigest()}"
    assert headers["X-OCR-Attempt"] == "3" and headers["X-OCR-Job"] == job_id
    summary = json.loads(body)
    assert summary["id"] == job_id and summary["status"] == "succeeded" and summary["text"]
    time.sleep(0.3)
    job = client.get(f"/v1/jobs/{job_id}", headers=auth(keys["alice"])).get_json()
    attempts = job["callback"]["attempts"]
    assert [a["status"] for a in attempts] == [500, 500, 204] and job["callback"]["delivered"] is True


@pytest.mark.parametrize("url", ["http://10.1.2.3/hook", "http://169.254.169.254/latest", "ftp://example.com/x"])
def test_a_callback_to_a_refused_address_is_422_at_submit(client, keys, url: str) -> None:
    response = submit(client, keys["alice"], "No", callback_url=url)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "callback_refused"


def test_metrics_and_status_need_an_admin_key_off_loopback(client, keys) -> None:
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/status", environ_base=remote).status_code == 401
    assert client.get("/status", environ_base=remote, headers=auth(keys["alice"])).status_code == 403
    assert client.get("/status", environ_base=remote, headers=auth(keys["admin"])).status_code == 200
    assert client.get("/status").status_code == 200  # the test client calls from 127.0.0.1
