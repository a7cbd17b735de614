"""The web page for people at ``/``: draw or drop an image or PDF, watch the job, see every engine's vote.

The page is HTML, CSS and vanilla JavaScript kept in this package (``templates/``, ``static/``; no CDN, no
build step). The script and the styles are put inline in the one HTML answer, allowed by a per-response
nonce in the Content-Security-Policy, so the page adds one route and no asset routes to the API. It talks
to the same public API a client uses: ``/v1/jobs``, ``/v1/jobs/{id}``, ``/v1/jobs/{id}/result``, ``/status``.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path
from urllib.parse import quote

from apiflask import APIBlueprint
from flask import Response, make_response, render_template

from app.health import VERSION

ASSETS = Path(__file__).resolve().parent / "static"
# Text that would end an inline <script> or <style> early (or change how HTML parses it).
FORBIDDEN_INLINE = {"web.js": ("</script", "<script", "<!--"), "web.css": ("</style", "<!--")}

web_bp = APIBlueprint("web", __name__, tag="Web page", template_folder="templates")


@cache
def asset(name: str) -> str:
    """An asset's text, checked to be safe to put inline in the page."""
    text = (ASSETS / name).read_text(encoding="utf-8")
    for marker in FORBIDDEN_INLINE.get(name, ()):
        if marker in text.lower():
            raise ValueError(f"{name} contains {marker!r}, which cannot be put inline in HTML")
    return text


@cache
def favicon_url() -> str:
    """The icon as a data: URL, so that the browser asks for no /favicon.ico."""
    return "data:image/svg+xml," + quote((ASSETS / "favicon.svg").read_text(encoding="utf-8").strip())


def content_security_policy(nonce: str) -> str:
    """Only this page's own inline script and styles run; requests go to this origin only."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'nonce-{nonce}'",
            f"style-src 'nonce-{nonce}'",
            "img-src 'self' blob: data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@web_bp.get("/")
@web_bp.doc(
    summary="The web page for people",
    description="Draw or drop an image or PDF, watch the job and see each engine's reading on the image. "
    "It uses only this API (see docs/web.md).",
    responses={200: {"description": "the HTML page", "content": {"text/html": {}}}},
)
def index() -> Response:
    """The single-page web client (HTML with its script and styles inline)."""
    nonce = secrets.token_urlsafe(16)
    html = render_template(
        "web/index.html",
        version=VERSION,
        nonce=nonce,
        script=asset("web.js"),
        styles=asset("web.css"),
        favicon=favicon_url(),
    )
    response = make_response(html)
    response.headers["Content-Security-Policy"] = content_security_policy(nonce)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
