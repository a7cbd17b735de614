"""The HTTP API: the Flask application factory ``create_app()``, routes, request parsing, errors, web page.

May import: jobs, config, engines, ensemble, documents, and workers.celery_app (to send tasks by name only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
import swagger_ui_bundle
from apiflask import APIFlask
from flask import send_from_directory
from kombu.exceptions import OperationalError

from app.access import init_access
from app.config_api import config_bp
from app.errors import error_body, register_error_handlers
from app.exports import exports_bp
from app.health import VERSION, health_bp
from app.jobs import jobs_bp
from app.metrics import init_metrics
from app.openapi import add_request_bodies
from app.service import Service
from app.web import web_bp
from config.settings import Settings, get_settings
from ensemble import load_presets
from ensemble.fitted import load_fitted_presets
from jobs.store import JobStore
from workers.celery_app import create_celery

SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


def create_app(settings: Settings | None = None) -> APIFlask:
    """Build the API; ``settings`` defaults to the process settings from the environment."""
    settings = settings or get_settings()
    app = APIFlask(__name__, title="OCR job server", version=VERSION, docs_path="/docs", spec_path="/openapi.json")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes * 2 + 1024 * 1024,  # base64 is 4/3 of the bytes
        # The docs page must work behind a firewall: serve Swagger UI from the installed package.
        SWAGGER_UI_CSS="/docs/static/swagger-ui.css",
        SWAGGER_UI_BUNDLE_JS="/docs/static/swagger-ui-bundle.js",
        SWAGGER_UI_STANDALONE_PRESET_JS="/docs/static/swagger-ui-standalone-preset.js",
        DOCS_FAVICON="/docs/static/favicon-32x32.png",
        VALIDATION_ERROR_STATUS_CODE=422,
    )
    fitted = load_fitted_presets(settings.presets_dir)
    app.extensions["ocr"] = Service(
        base_settings=settings,
        store=JobStore.from_url(settings.redis_url, settings.image_ttl_s, settings.result_ttl_s),
        celery=create_celery(settings),
        base_presets={**load_presets(settings.presets_file), **{n: p.weights for n, p in fitted.items()}},
        fitted=fitted,
    )
    register_error_handlers(app)
    _register_backend_errors(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(config_bp)
    init_access(app)
    app.register_blueprint(web_bp)
    init_metrics(app)
    app.spec_processor(add_request_bodies)

    @app.get("/docs/static/<path:filename>")
    @app.doc(hide=True)
    def swagger_static(filename: str) -> Any:
        return send_from_directory(SWAGGER_DIR, filename)

    return app


def _register_backend_errors(app: APIFlask) -> None:
    @app.errorhandler(redis.RedisError)
    @app.errorhandler(OperationalError)
    def _backend_down(error: Exception) -> tuple[dict[str, Any], int]:
        app.logger.error("backend unavailable: %s", error)
        return error_body("backend_unavailable", "the job store or broker is not reachable; retry later"), 503
