"""``GET/PUT /v1/config`` and ``GET /v1/config/audit``: the runtime configuration, for admin keys."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema, fields
from flask import request

from app.access import caller, require_admin
from app.errors import ApiError
from app.runtime_config import LIMITS, InvalidConfig, RuntimeConfig, VersionConflict, validated
from app.service import service

config_bp = APIBlueprint("config", __name__, url_prefix="/v1", tag="Configuration")


class ConfigIn(Schema):
    """The fields to change; `null` goes back to the deployment's value. Values are checked in
    :func:`app.runtime_config.validated`, which names the field at fault."""

    default_preset = fields.String(allow_none=True)
    default_method = fields.String(allow_none=True)
    engines = fields.List(fields.String(), allow_none=True)
    presets = fields.Dict(
        keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Raw()), allow_none=True
    )
    limits = fields.Dict(keys=fields.String(), values=fields.Raw(), allow_none=True)
    languages = fields.List(fields.String(), allow_none=True)


def config_view(config: RuntimeConfig) -> dict[str, Any]:
    """The configuration as an admin reads it: what was set, and what is in force."""
    svc = service()
    settings = config.overlay(svc.base_settings)
    return {
        "version": config.version,
        "updated_at": config.updated_at,
        "updated_by": config.updated_by,
        "set": {
            "default_preset": config.default_preset,
            "default_method": config.default_method,
            "engines": config.engines,
            "presets": config.presets,
            "limits": config.limits,
            "languages": config.languages,
        },
        "effective": {
            "default_preset": settings.default_preset,
            "default_method": settings.default_method,
            "engines": list(settings.engines),
            "presets": sorted({**svc.base_presets, **config.presets}),
            "limits": {name: getattr(settings, name) for name in LIMITS},
            "languages": list(settings.languages),
        },
    }


@config_bp.get("/config")
@config_bp.doc(summary="Read the runtime configuration (admin)", responses={200: "the configuration", 403: "not admin"})
def get_config() -> dict[str, Any]:
    """What an admin set at runtime (`set`) and the values in force (`effective`)."""
    require_admin()
    return config_view(service().runtime.current())


@config_bp.put("/config")
@config_bp.doc(
    summary="Change the runtime configuration (admin)",
    description=(
        "A JSON object with any of: `default_preset`, `default_method`, `engines` (a subset of the deployment's), "
        "`presets` ({name: {engine: weight}}: replaces those presets' weights), `limits` (any of "
        f"{', '.join(LIMITS)}, at most the deployment's), `languages` (ISO 639 codes jobs read when they name "
        "none). Send `null` to go back to the deployment's value. "
        "Header `If-Match: <version>` refuses the change (409) if someone changed it since. Every API process "
        "applies it within OCR_RUNTIME_CONFIG_MAX_AGE_S; each change is in the audit log."
    ),
    responses={200: "the new configuration", 403: "not admin", 409: "changed meanwhile", 422: "invalid field"},
)
@config_bp.input(ConfigIn, arg_name="changes")
def put_config(changes: dict[str, Any]) -> dict[str, Any]:
    """Change the runtime configuration; validated field by field, versioned, audited."""
    require_admin()
    svc = service()
    current = svc.runtime.fresh()
    expected = _expected_version(current)
    try:
        config = validated(current, changes, svc.base_settings, set(svc.base_presets))
        saved = svc.runtime.replace(config, expected, _actor(), changes)
    except InvalidConfig as exc:
        raise ApiError(422, "invalid_config", f"{exc.field}: {exc.message}", detail={"field": exc.field}) from exc
    except VersionConflict as exc:
        raise ApiError(409, "config_conflict", str(exc)) from exc
    return config_view(saved)


@config_bp.get("/config/audit")
@config_bp.doc(
    summary="The runtime configuration's changes, newest first (admin)",
    responses={200: "the changes, newest first", 403: "not admin"},
)
def config_audit() -> dict[str, Any]:
    """Who changed what and when (`limit`: how many, default 100)."""
    require_admin()
    raw = request.args.get("limit", "100")
    limit = int(raw) if raw.isdigit() else 100
    return {"changes": service().runtime.audit(min(limit, 1000))}


def _expected_version(current: RuntimeConfig) -> int:
    raw = request.headers.get("If-Match", "").strip('"')
    if not raw:
        return current.version
    if not raw.isdigit():
        raise ApiError(400, "invalid_if_match", "If-Match takes the configuration's version number")
    return int(raw)


def _actor() -> str:
    key = caller().key
    return f"key:{key.id}" if key is not None else f"open:{request.remote_addr}"
