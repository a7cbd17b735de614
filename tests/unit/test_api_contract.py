"""The API's contract without workers: OpenAPI matches the routes, errors are JSON, Redis down is a 503."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from app import create_app
from config.settings import Settings

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
DOC_ROUTES = {
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/docs/static/<path:filename>",
    "/static/<path:filename>",
}


def _png(size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture()
def app():
    app = create_app(Settings(redis_url=UNREACHABLE_REDIS, max_upload_bytes=10_000))
    app.config["TESTING"] = True
    return app


def _flask_routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule in DOC_ROUTES:
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_openapi_paths_and_methods_match_the_routes(app) -> None:
    spec = app.test_client().get("/openapi.json").get_json()
    documented = {path: set(operations) for path, operations in spec["paths"].items()}
    assert documented == _flask_routes(app)


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/predict", "/v1/predict_text", "/v1/batch_predict"])
def test_openapi_documents_multipart_and_json_bodies(app, path: str) -> None:
    spec = app.test_client().get("/openapi.json").get_json()
    content = spec["paths"][path]["post"]["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json"}
    image_field = "images" if path == "/v1/batch_predict" else "image"
    assert image_field in content["application/json"]["schema"]["properties"]
    assert image_field in content["multipart/form-data"]["schema"]["properties"]


def test_health_answers_without_redis(app) -> None:
    response = app.test_client().get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_is_503_when_redis_is_down(app) -> None:
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert response.get_json()["redis"] is False


def test_submit_is_503_json_when_redis_is_down(app) -> None:
    response = app.test_client().post(
        "/v1/jobs", data={"image": (io.BytesIO(_png()), "a.png")}, content_type="multipart/form-data"
    )
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "backend_unavailable"


def test_body_over_the_request_limit_is_413_json(app) -> None:
    oversized = b"\0" * 1_200_000  # above 2 x max_upload_bytes + 1 MiB (room for base64)
    response = app.test_client().post(
        "/v1/jobs", data={"image": (io.BytesIO(oversized), "a.png")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_image_over_the_upload_limit_is_413_json(app) -> None:
    response = app.test_client().post(
        "/v1/jobs", data={"image": (io.BytesIO(b"\0" * 15_000), "a.png")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "image_too_large"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "plain text", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_json"),
        ({"json": {"mode": "text"}}, 422, "invalid_request"),
        ({"json": {"image": "%%% not base64 %%%"}}, 400, "invalid_base64"),
        ({"data": {"mode": "text"}, "content_type": "multipart/form-data"}, 400, "missing_image"),
    ],
)
def test_malformed_requests_get_json_errors(app, kwargs: dict, status: int, code: str) -> None:
    response = app.test_client().post("/v1/jobs", **kwargs)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_unknown_route_is_404_json(app) -> None:
    response = app.test_client().get("/v2/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("weights", ['{"tesseract": Infinity}', '{"tesseract": 1e999}', '{"tesseract": NaN}'])
def test_non_finite_weights_are_422_not_500(app, weights: str) -> None:
    png = io.BytesIO()
    Image.new("L", (40, 20), 255).save(png, format="PNG")
    response = app.test_client().post(
        "/v1/jobs",
        data={"image": (io.BytesIO(png.getvalue()), "a.png"), "weights": weights},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_weights"


def test_json_nested_too_deeply_is_400_json(app) -> None:
    body = '{"image": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = app.test_client().post("/v1/jobs", data=body, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"


def test_weights_nested_too_deeply_are_422_json(app) -> None:
    weights = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    data = {"image": (io.BytesIO(_png()), "i.png"), "weights": weights}
    response = app.test_client().post("/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_weights"


def test_a_405_names_the_allowed_methods(app) -> None:
    response = app.test_client().delete("/v1/jobs")
    assert response.status_code == 405 and response.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_a_fractional_top_k_is_refused_not_truncated(app) -> None:
    body = {"image": base64.b64encode(_png()).decode(), "top_k": 5.5}
    response = app.test_client().post("/v1/jobs", json=body)
    assert response.status_code == 422 and "top_k" in str(response.get_json()["error"])


@pytest.mark.parametrize(
    ("weights", "code"),
    [({"no_such_engine": 1.0}, "unknown_engine"), ({"tesseract": 0.0, "paddleocr": 0.0}, "invalid_weights")],
)
def test_weights_for_unknown_engines_or_all_zero_are_422(app, weights: dict, code: str) -> None:
    body = {"image": base64.b64encode(_png()).decode(), "weights": weights}
    response = app.test_client().post("/v1/jobs", json=body)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == code


def test_error_messages_do_not_echo_huge_inputs(app) -> None:
    body = {"image": base64.b64encode(_png()).decode(), "preset": "p" * 1_000_000}
    response = app.test_client().post("/v1/jobs", json=body)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "unknown_preset"
    assert len(response.get_data()) < 2_000


def test_two_image_fields_are_refused_not_silently_dropped(app) -> None:
    data = {"image": [(io.BytesIO(_png()), "a.png"), (io.BytesIO(_png()), "b.png")]}
    response = app.test_client().post("/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "too_many_images"


def test_a_bad_base64_entry_of_a_json_batch_fails_only_its_item(monkeypatch: pytest.MonkeyPatch, app) -> None:
    from app.errors import ApiError
    from app.service import Service

    submitted: list[object] = []

    def fake_submit_batch(self, images, raw, owner=None, admit=None, idempotency_key=None):
        submitted.extend(images)  # no Redis here: record what reached the service, then stop
        raise ApiError(503, "stopped_here", "the test stops at the service")

    monkeypatch.setattr(Service, "submit_batch", fake_submit_batch)
    good = base64.b64encode(_png()).decode()
    response = app.test_client().post("/v1/batch_predict", json={"images": [good, "%%% not base64", good]})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "stopped_here"
    assert [isinstance(item, bytes) for item in submitted] == [True, False, True]
    assert submitted[1].code == "invalid_base64"  # type: ignore[union-attr]
