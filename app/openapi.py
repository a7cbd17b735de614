"""OpenAPI additions apiflask cannot declare: request bodies accepted as multipart OR JSON."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import Schema

from app.schemas import BatchFormIn, BatchJsonIn, JobFormIn, JobJsonIn

SINGLE_IMAGE_ROUTES = ("/v1/jobs", "/v1/predict", "/v1/predict_text")
BATCH_ROUTES = ("/v1/batch_predict",)
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "retries with the same key and body return the same job",
}


def _converter() -> OpenAPIConverter:
    spec = APISpec("ocr", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    return OpenAPIConverter("3.1.0", lambda schema: None, spec)


def _body(form: Schema, json_schema: Schema) -> dict[str, Any]:
    converter = _converter()
    return {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": converter.schema2jsonschema(form)},
            "application/json": {"schema": converter.schema2jsonschema(json_schema)},
        },
    }


def add_request_bodies(spec: dict[str, Any]) -> dict[str, Any]:
    """Document the two accepted encodings of every recognition request."""
    bodies = {
        **{route: _body(JobFormIn(), JobJsonIn()) for route in SINGLE_IMAGE_ROUTES},
        **{route: _body(BatchFormIn(), BatchJsonIn()) for route in BATCH_ROUTES},
    }
    for route, body in bodies.items():
        operation = spec.get("paths", {}).get(route, {}).get("post")
        if operation is None:
            continue
        operation["requestBody"] = body
        if route in SINGLE_IMAGE_ROUTES:
            operation.setdefault("parameters", []).append(IDEMPOTENCY_HEADER)
    return spec
