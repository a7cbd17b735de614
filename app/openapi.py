"""OpenAPI additions apiflask cannot declare: request bodies accepted as multipart OR JSON, and the API's
one error shape with its catalogue of codes (:mod:`app.error_codes`)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import Schema

from app.error_codes import ERRORS, JOB_ERRORS, JOB_FAILED_STATUS, openapi_extension
from app.schemas import BatchFormIn, BatchJsonIn, JobFormIn, JobJsonIn
from documents.export import FORMATS, MEDIA_TYPES

SINGLE_IMAGE_ROUTES = ("/v1/jobs", "/v1/predict", "/v1/predict_text")
BATCH_ROUTES = ("/v1/batch_predict",)
SYNC_ROUTES = ("/v1/predict", "/v1/predict_text")
RESULT_ROUTE = "/v1/jobs/{job_id}/result"
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "retries with the same key and body return the same job",
}
RESULT_PARAMETERS = [
    {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": list(FORMATS)}},
    {
        "name": "page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1},
        "description": "format=page: which page of a document job",
    },
]
# A base64 image as `app.requests` decodes it: standard alphabet, padded, optionally a data URL.
BASE64_PATTERN = r"^(data:[^,]{0,94},)?(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
BASE64_IMAGE = {"type": "string", "minLength": 1, "pattern": BASE64_PATTERN}

ERROR_SCHEMA = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
# Answers any route may give: a malformed request (gunicorn, werkzeug), the request limits, a bug.
EVERY_ROUTE_STATUSES = (400, 414, 431, 500)
# The job store or broker down: every route under /v1 reads or writes Redis.
STORE_STATUSES = (503,)


def _converter() -> OpenAPIConverter:
    spec = APISpec("ocr", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    return OpenAPIConverter("3.1.0", lambda schema: None, spec)


def _body(form: Schema, json_schema: Schema) -> dict[str, Any]:
    converter = _converter()
    content = {
        "multipart/form-data": {"schema": converter.schema2jsonschema(form)},
        "application/json": {"schema": converter.schema2jsonschema(json_schema)},
    }
    for media in content.values():
        # app.requests ignores fields it does not know (it loads with unknown="exclude"): say so.
        media["schema"].pop("additionalProperties", None)
    return {"required": True, "content": content}


def add_request_bodies(spec: dict[str, Any]) -> dict[str, Any]:
    """Document the two accepted encodings of every recognition request, and the error answers."""
    bodies = {
        **{route: _body(JobFormIn(), JobJsonIn()) for route in SINGLE_IMAGE_ROUTES},
        **{route: _body(BatchFormIn(), BatchJsonIn()) for route in BATCH_ROUTES},
    }
    for route, body in bodies.items():
        operation = spec.get("paths", {}).get(route, {}).get("post")
        if operation is None:
            continue
        _require_base64_images(body["content"]["application/json"]["schema"])
        _require_files(body["content"]["multipart/form-data"]["schema"])
        operation["requestBody"] = body
        if route in SINGLE_IMAGE_ROUTES:
            operation.setdefault("parameters", []).append(IDEMPOTENCY_HEADER)
    _document_result_download(spec)
    return add_error_responses(spec)


def _require_base64_images(schema: dict[str, Any]) -> None:
    """A JSON image is non-empty base64, or the request is refused (400 invalid_base64 or empty_image). A
    batch's item is not: one that is not a base64 image fails alone, in its own result."""
    properties = schema.get("properties", {})
    if "image" in properties:
        properties["image"].update(BASE64_IMAGE)
    if "images" in properties:
        items = properties["images"].setdefault("items", {})
        items["description"] = "a base64 image; one that cannot be read fails only its own item (status rejected)"


def _require_files(schema: dict[str, Any]) -> None:
    """A multipart batch sends at least one ``images`` file (none: 400 missing_image)."""
    images = schema.get("properties", {}).get("images")
    if images is not None:
        images["minItems"] = 1


def _document_result_download(spec: dict[str, Any]) -> None:
    """The result download's query parameters, and the media type of each format."""
    operation = spec.get("paths", {}).get(RESULT_ROUTE, {}).get("get")
    if operation is None:
        return
    names = {parameter["name"] for parameter in operation.get("parameters", [])}
    operation.setdefault("parameters", []).extend(p for p in RESULT_PARAMETERS if p["name"] not in names)
    ok = operation.get("responses", {}).get("200")
    if ok is not None:
        ok["content"] = {media.split(";")[0]: {"schema": {}} for media in MEDIA_TYPES.values()}


def error_schema() -> dict[str, Any]:
    """The JSON Schema of every error answer, its code one of the catalogue's."""
    codes = sorted({error.code for error in ERRORS} | {error.code for error in JOB_ERRORS})
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": codes,
                        "description": "stable, for clients to switch on; x-error-codes says what each means",
                    },
                    "message": {"type": "string", "description": "for people; may change"},
                    "detail": {"description": "more about the error, when there is more"},
                },
            }
        },
    }


def _status_description(status: int, route: str) -> str:
    codes = sorted({error.code for error in ERRORS if error.status == status})
    if status == JOB_FAILED_STATUS and route in SYNC_ROUTES:
        codes += [f"{error.code} (the job failed)" for error in JOB_ERRORS]
    return "error codes with this status (x-error-codes says what each means): " + ", ".join(codes)


def add_error_responses(spec: dict[str, Any]) -> dict[str, Any]:
    """Every error answer documented with the one error schema, the answers every route may give added,
    and the catalogue itself as ``x-error-codes``."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_SCHEMA] = error_schema()
    for route, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            extra = EVERY_ROUTE_STATUSES + (STORE_STATUSES if route.startswith("/v1/") else ())
            for status in extra:
                responses.setdefault(str(status), {"description": _status_description(status, route)})
            for status, response in responses.items():
                if not status.isdigit() or int(status) < 400:
                    continue
                if route == "/ready" and status == "503":  # not ready: the readiness report itself
                    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ReadyOut"}}}
                    continue
                response["content"] = {"application/json": {"schema": ERROR_REF}}
                if response.get("description", "").lower() in _PHRASES:  # apiflask's "Not found": say more
                    response["description"] = _status_description(int(status), route)
    if not _references(spec, "#/components/schemas/HTTPError"):
        schemas.pop("HTTPError", None)
    spec["x-error-codes"] = openapi_extension()
    return spec


# The phrases apiflask writes for a status given without a description ("Not found").
_PHRASES = frozenset({"", *(status.phrase.lower() for status in HTTPStatus)})


def _references(value: Any, ref: str) -> bool:
    if isinstance(value, dict):
        return value.get("$ref") == ref or any(_references(item, ref) for item in value.values())
    if isinstance(value, list):
        return any(_references(item, ref) for item in value)
    return False
