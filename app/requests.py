"""Reading a recognition request: the image bytes (multipart file or base64 JSON) and raw options."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError, fields

from app.errors import ApiError, clip, clipped
from app.schemas import BatchJsonIn, JobFormIn, JobJsonIn

# Built once: a schema's construction copies its fields, which cost more than loading a request.
JOB_JSON, BATCH_JSON, JOB_FORM = JobJsonIn(), BatchJsonIn(), JobFormIn(partial=("image",))


def read_single() -> tuple[bytes, dict[str, Any]]:
    """The one image and the options of a job, predict or predict_text request."""
    if request.mimetype == "multipart/form-data":
        uploads = request.files.getlist("image")
        if not uploads:
            raise ApiError(400, "missing_image", "send the image as the multipart file field 'image'")
        if len(uploads) > 1:
            raise ApiError(400, "too_many_images", "send one 'image' per request; several go to /v1/batch_predict")
        return uploads[0].read(), _form_options()
    body = _json_body(JOB_JSON)
    return _b64decode(body.pop("image"), "image"), body


def read_batch() -> tuple[list[bytes | ApiError], dict[str, Any]]:
    """The images and the shared options of a batch request; an image that cannot be read is its
    ApiError, so that it fails only its own item."""
    if request.mimetype == "multipart/form-data":
        uploads = request.files.getlist("images")
        if not uploads:
            raise ApiError(400, "missing_image", "send the images as repeated multipart fields 'images'")
        return [upload.read() for upload in uploads], _form_options()
    body = _json_body(BATCH_JSON)
    return [_decoded_or_error(item, f"images[{i}]") for i, item in enumerate(body.pop("images"))], body


def _decoded_or_error(text: str, field: str) -> bytes | ApiError:
    try:
        return _b64decode(text, field)
    except ApiError as exc:
        return exc


def _json_body(schema: Schema) -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data or application/json")
    try:
        payload = request.get_json(silent=True)
    except RecursionError as exc:  # json's decoder recurses once per level of nesting
        raise ApiError(400, "invalid_json", "the JSON body is nested too deeply") from exc
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_json", "the body is not a JSON object")
    wrong = _json_type_errors(schema, payload)
    if wrong:
        raise ApiError(422, "invalid_request", f"invalid request: {clipped(wrong)}")
    # JSON Schema's integer includes 14.0; marshmallow's strict Integer would refuse it (5.5 stays refused).
    integral = {
        name: int(value)
        for name, value in payload.items()
        if isinstance(schema.fields.get(name), fields.Integer) and isinstance(value, float) and value.is_integer()
    }
    return _load(schema, {**payload, **integral})


def _json_type_errors(schema: Schema, payload: dict[str, Any]) -> dict[str, list[str]]:
    """The options whose JSON type is not the documented one but that marshmallow would take: it reads 0, 1
    and "yes" as booleans and true as a number; /openapi.json says a boolean is a JSON boolean."""
    errors: dict[str, list[str]] = {}
    for name, field in schema.fields.items():
        value = payload.get(name)
        if value is None:  # absent or null: the schema decides
            continue
        if isinstance(field, fields.Boolean) and not isinstance(value, bool):
            errors[name] = ["Not a valid boolean."]
        elif _holds_a_bool_for_a_number(field, value):
            errors[name] = ["Not a valid number."]
    return errors


def _holds_a_bool_for_a_number(field: fields.Field, value: object) -> bool:
    if isinstance(field, fields.Number):
        return isinstance(value, bool)
    if isinstance(field, fields.Dict) and isinstance(field.value_field, fields.Number) and isinstance(value, dict):
        return any(isinstance(item, bool) for item in value.values())
    return False


def _form_options() -> dict[str, Any]:
    # The files were taken already: load the option fields only.
    schema = JOB_FORM
    repeated = sorted(key for key in request.form if key in schema.fields and len(request.form.getlist(key)) > 1)
    if repeated:  # which of two values was meant cannot be guessed
        raise ApiError(422, "invalid_request", f"send each option once; repeated: {clip(', '.join(repeated))}")
    form = {key: value for key, value in request.form.items() if key in schema.fields and key != "image"}
    options = _load(schema, form)
    if "engines" in options:
        options["engines"] = [name.strip() for name in options["engines"].split(",") if name.strip()]
    if "languages" in options:
        options["languages"] = [code.strip() for code in options["languages"].split(",") if code.strip()]
    if "fold" in options:
        options["fold"] = [name.strip() for name in options["fold"].split(",") if name.strip()]
    if "weights" in options:
        options["weights"] = _weights_from_json(options["weights"])
    return options


def _weights_from_json(text: str) -> dict[str, float]:
    try:
        weights = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(422, "invalid_weights", f"weights is not valid JSON: {clip(exc)}") from exc
    except RecursionError as exc:
        raise ApiError(422, "invalid_weights", "weights is nested too deeply") from exc
    valid = isinstance(weights, dict) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in weights.values()
    )
    if not valid:
        raise ApiError(422, "invalid_weights", "weights must be a JSON object of engine -> finite number >= 0")
    return {str(k): float(v) for k, v in weights.items()}


def _load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data, unknown="exclude")
    except ValidationError as exc:
        # The messages are keyed by the client's own names (a weights key): quote them only in part.
        raise ApiError(422, "invalid_request", f"invalid request: {clipped(exc.messages)}") from exc
    return loaded


def _b64decode(text: str, field: str) -> bytes:
    if "," in text[:100] and text.startswith("data:"):
        text = text.split(",", 1)[1]  # accept data URLs as browsers produce them
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "invalid_base64", f"{field} is not valid base64: {clip(exc)}") from exc
