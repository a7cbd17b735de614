"""The API docs page in a real browser (Debian's Chromium): it renders offline, from local assets."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright

from tests.integration.conftest import CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.integration


def test_docs_page_lists_every_operation_without_leaving_localhost(live_server: str) -> None:
    hosts: set[str] = set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
            page.goto(f"{live_server}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=20_000)
            paths = set(page.locator(".opblock-summary-path").all_inner_texts())
            page.locator(".opblock-summary-path", has_text="/v1/jobs").first.click()
            page.wait_for_selector("text=Idempotency-Key", timeout=10_000)
        finally:
            browser.close()
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/predict", "/v1/predict_text", "/v1/batch_predict"} <= {
        p.replace("\u200b", "") for p in paths
    }
    assert hosts == {urlparse(live_server).netloc}
