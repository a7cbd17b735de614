"""The web page at ``/`` in a real browser (Debian's Chromium) against the real stack (gunicorn, Celery
workers, Redis): draw a character, drop a page, read a PDF, see every API error explained, watch the
operations view; and no request of the page leaves 127.0.0.1.

Screenshots of every step go to ``OCR_TEST_ARTIFACTS`` (default ``tests/artifacts/``); with
``OCR_UPDATE_README_SCREENSHOT=1`` the page result is also saved as ``docs/images/web-page-result.png``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route, expect, sync_playwright

from tests.integration.conftest import CHROMIUM, CHROMIUM_FLAGS, ROOT, draw_page
from tests.rendering import cer, contains

pytestmark = pytest.mark.integration
# Engines the page is told to use: the test service also enables plugin engines without workers.
ENGINES = ("tesseract", "paddleocr")
LINES = [
    "Quarterly report for the board",
    "Revenue rose 12% to 4,310 units",
    "Shipping delays ended in March",
    "Next review: 14 June 2027",
]
ARTIFACTS = Path(os.environ.get("OCR_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts")
README_SCREENSHOT = ROOT / "docs" / "images" / "web-page-result.png"
JOB_TIMEOUT_MS = 120_000


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Visit:
    """A browser tab on the page, with every URL it requested and every console error."""

    page: Page
    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def shot(self, name: str, **options: object) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"web-{name}.png"
        self.page.screenshot(path=str(path), **options)
        return path

    def choose_engines(self, *names: str) -> None:
        for name in names:
            self.page.check(f"#engine-{name}")

    def non_local(self) -> list[str]:
        """URLs that went anywhere but 127.0.0.1 (blob: and data: URLs are the page's own memory)."""
        found = []
        for url in self.urls:
            parsed = urlparse(url)
            if parsed.scheme in ("blob", "data"):
                continue
            if parsed.scheme not in ("http", "https") or parsed.hostname != "127.0.0.1":
                found.append(url)
        return found


@pytest.fixture(scope="module")
def browser(live_server: str, model_workers: list) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture()
def visit(browser: Browser, live_server: str, request: pytest.FixtureRequest) -> Iterator[Visit]:
    """A fresh tab on the page, with the options loaded from /status; afterwards: nothing left 127.0.0.1
    and the page logged no error (a Content-Security-Policy violation would be one)."""
    context = browser.new_context(viewport={"width": 1200, "height": 860}, accept_downloads=True)
    page = context.new_page()
    result = Visit(page)
    page.on("request", lambda request: result.urls.append(request.url))
    page.on("pageerror", lambda error: result.errors.append(f"page error: {error}"))

    def console(message: ConsoleMessage) -> None:
        # A failed fetch is logged by Chromium as a console error: the error tests cause those on purpose.
        if message.type == "error" and "Failed to load resource" not in message.text:
            result.errors.append(message.text)

    page.on("console", console)
    page.goto(f"{live_server}/")
    page.wait_for_selector("#engine-tesseract", timeout=20_000)
    try:
        yield result
    finally:
        # The page as the test left it: what a failure looked like.
        result.shot(f"last-{request.node.name}", full_page=True)
        context.close()
    assert result.non_local() == [], "the page sent requests away from 127.0.0.1"
    assert result.errors == []


def test_draw_a_character_stroke_by_stroke_and_read_it(visit: Visit) -> None:
    page = visit.page
    visit.choose_engines(*ENGINES)
    page.click("#tab-draw")
    pad = page.locator("#pad")
    expect(pad).to_be_visible()
    box = pad.bounding_box()
    assert box is not None

    def stroke(points: list[tuple[float, float]]) -> None:
        x, y = points[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
        page.mouse.up()

    # A "T": the bar, then the stem; a stray stroke is undone.
    stroke([(0.2, 0.2), (0.8, 0.2)])
    visit.shot("draw-1-bar")
    stroke([(0.5, 0.2), (0.5, 0.82)])
    visit.shot("draw-2-stem")
    drawn = page.evaluate("document.getElementById('pad').toDataURL()")
    stroke([(0.1, 0.9), (0.3, 0.95)])
    assert page.evaluate("document.getElementById('pad').toDataURL()") != drawn
    page.click("#undo")
    assert page.evaluate("document.getElementById('pad').toDataURL()") == drawn

    # What the page sends: the canvas as a PNG, black ink on white, read as one character by the engines chosen.
    png = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
    drawing = Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1]))).convert("L")
    assert drawing.getpixel((0, 0)) == 255 and drawing.getpixel((drawing.width - 1, drawing.height - 1)) == 255
    assert drawing.getextrema()[0] < 30
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/v1/jobs")) as sent:
        page.click("#read")
    assert sent.value.status == 202
    options = sent.value.json()["options"]
    assert options["mode"] == "char" and sorted(options["engines"]) == sorted(ENGINES), options

    page.wait_for_selector(".char-big", timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#status")).to_contain_text("succeeded")
    assert page.inner_text(".char-big").strip() in {"T", "t", "7", "J", "I", "1"}
    expect(page.locator(".top5").first.locator("tbody tr")).not_to_have_count(0)
    sections = page.locator(".char-engines section h4").all_inner_texts()
    assert set(ENGINES) <= set(sections)
    assert re.search(r"\d+\.\d%", page.inner_text(".top5 >> nth=0"))
    visit.shot("draw-3-result", full_page=True)


def drop_file(page: Page, data: bytes, name: str, mime: str) -> None:
    """Drop a file on the drop zone as a person would: dragover, then drop with a DataTransfer."""
    transfer = page.evaluate_handle(
        """([bytes, name, mime]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, {type: mime}));
            return transfer;
        }""",
        [list(data), name, mime],
    )
    page.dispatch_event("#dropzone", "dragover", {"dataTransfer": transfer})
    expect(page.locator("#dropzone")).to_have_class(re.compile(r"\bover\b"))
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})


def test_drop_a_page_and_see_one_box_per_line_and_the_text(visit: Visit, live_server: str, tmp_path: Path) -> None:
    page = visit.page
    visit.choose_engines(*ENGINES)
    page.select_option("#mode", "page")
    image, drawn = draw_page(LINES)
    data = png_bytes(image)
    drop_file(page, data, "report.png", "image/png")

    lines = page.locator("#views .lines button.line")
    expect(lines).to_have_count(len(LINES), timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#views .figure")).to_have_attribute("data-ready", "true")
    expect(page.locator("#status")).to_contain_text("succeeded, 4 lines read")
    texts = [page.locator("#views .lines button.line .text").nth(i).inner_text() for i in range(len(LINES))]
    for text, expected in zip(texts, LINES, strict=True):
        assert cer(text, expected) <= 0.05, (text, expected)

    # One box per line over the image, around the line's ink, in image pixels; words boxed too.
    boxes = page.locator("#views svg.overlay rect.line-box")
    expect(boxes).to_have_count(len(LINES))
    for index, ink in enumerate(drawn):
        rect = [float(boxes.nth(index).get_attribute(a) or 0) for a in ("x", "y", "width", "height")]
        assert contains((rect[0], rect[1], rect[0] + rect[2], rect[1] + rect[3]), ink, slack=4), (rect, ink)
    assert page.locator("#views svg.overlay rect.word-box").count() >= len(" ".join(LINES).split())
    shown = page.locator("#views .figure img").bounding_box()
    first = boxes.first.bounding_box()
    assert (
        shown
        and first
        and contains(
            (shown["x"], shown["y"], shown["x"] + shown["width"], shown["y"] + shown["height"]),
            (first["x"], first["y"], first["x"] + first["width"], first["y"] + first["height"]),
            slack=1,
        )
    )
    # Characters are shaded by confidence (a background colour on each character).
    assert page.locator("#views .lines .ch").first.evaluate("node => node.style.backgroundColor") != ""

    # With the keyboard: the second line opens each engine's reading side by side, and the vote.
    lines.nth(1).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#detail")).to_be_visible()
    expect(lines.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#views svg rect.line-box.selected")).to_have_count(1)
    rows = page.locator("#detail table.votes tbody tr")
    expect(rows).to_have_count(len(ENGINES))
    engines_shown = [rows.nth(i).locator("th").inner_text().replace("✓", "").strip() for i in range(len(ENGINES))]
    assert engines_shown == sorted(ENGINES)
    for i in range(len(ENGINES)):
        assert cer(rows.nth(i).locator("td.reading").inner_text(), LINES[1]) <= 0.1
    expect(page.locator("#detail")).to_contain_text("voting")
    visit.shot("page-1-result", full_page=True)
    if os.environ.get("OCR_UPDATE_README_SCREENSHOT") == "1":
        save_readme_screenshot(page)

    # Export: copy the text, download the other formats the API offers.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.click("#copy")
    expect(page.locator("#copy-status")).to_contain_text("Copied 4 lines")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert cer(copied, "\n".join(LINES)) <= 0.05
    formats = [
        re.search(r"format=(\w+)", page.locator("#downloads a").nth(i).get_attribute("href") or "").group(1)
        for i in range(page.locator("#downloads a").count())
    ]
    assert formats == ["json", "text", "hocr", "alto", "page", "pdf"]
    with page.expect_download() as download:
        page.click("#downloads a:has-text('hOCR')")
    hocr = Path(download.value.path()).read_text()
    assert "ocr_line" in hocr and "Quarterly" in hocr
    with page.expect_download() as download:
        page.click("#downloads a:has-text('JSON')")
    assert len(json.loads(Path(download.value.path()).read_text())["lines"]) == len(LINES)

    # The same page through the file input (the keyboard path) answers the same lines.
    path = tmp_path / "report.png"
    path.write_bytes(data)
    page.set_input_files("#file", str(path))
    expect(page.locator("#file-name")).to_contain_text("report.png")
    expect(page.locator("#status")).to_contain_text("succeeded, 4 lines read", timeout=JOB_TIMEOUT_MS)
    expect(lines).to_have_count(len(LINES))

    # Phone width: one column, the text under the image, nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    figure = page.locator("#views .figure").bounding_box()
    text_side = page.locator("#views .text-side").bounding_box()
    assert figure and text_side and text_side["y"] >= figure["y"] + figure["height"] - 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    visit.shot("page-2-phone", full_page=True)


def save_readme_screenshot(page: Page) -> None:
    """The page result for the README: the top of the page at 1200 px, optimised PNG."""
    page.evaluate("window.scrollTo(0, 0)")
    png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": 1200, "height": 900})
    README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    image.save(README_SCREENSHOT, format="PNG", optimize=True)


def test_a_pdf_is_read_page_by_page_with_progress(visit: Visit, tmp_path: Path) -> None:
    page = visit.page
    visit.choose_engines(*ENGINES)
    first, _ = draw_page(LINES[:2])
    second, _ = draw_page(LINES[2:])
    path = tmp_path / "two pages.pdf"
    first.save(path, format="PDF", save_all=True, append_images=[second], resolution=200)
    page.set_input_files("#file", str(path))

    expect(page.locator("#pages li")).to_have_count(2, timeout=20_000)
    expect(page.locator("#status")).to_contain_text("PDF document, 2 pages")
    expect(page.locator("#status")).to_contain_text("succeeded, 2 pages read", timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#pages li.state-succeeded")).to_have_count(2)
    views = page.locator("#views .view")
    expect(views).to_have_count(2)
    for number, expected in ((0, LINES[:2]), (1, LINES[2:])):
        view = views.nth(number)
        expect(view.locator("h3")).to_have_text(f"Page {number + 1}")
        # No PDF renderer offline: a blank page of the page's size with the boxes and the text read.
        expect(view.locator("svg.plain rect.line-box")).to_have_count(len(expected))
        texts = view.locator(".lines button.line .text").all_inner_texts()
        assert [cer(t, e) <= 0.05 for t, e in zip(texts, expected, strict=True)] == [True, True], texts
    expect(page.locator("#downloads")).to_contain_text("PAGE XML p. 2")
    visit.shot("pdf-result", full_page=True)


def test_an_unsupported_file_is_a_415_with_its_message(visit: Visit, tmp_path: Path) -> None:
    page = visit.page
    visit.choose_engines(*ENGINES)
    path = tmp_path / "notes.txt"
    path.write_text("these are not pixels\n")
    with page.expect_response(lambda r: r.url.endswith("/v1/jobs")) as answer:
        page.set_input_files("#file", str(path))
    assert answer.value.status == 415
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("This kind of file is not accepted")
    expect(error).to_contain_text("unsupported_format, HTTP 415")
    expect(error).to_contain_text(answer.value.json()["error"]["message"])
    expect(page.locator("#status")).to_have_text("The job was not accepted.")
    visit.shot("error-415")


@pytest.mark.parametrize(
    ("status", "code", "explained"),
    [
        (413, "image_too_large", "too large"),
        (422, "invalid_request", "could not use this file or these options"),
        (429, "too_many_requests", "Too many requests"),
        (503, "backend_unavailable", "unavailable right now"),
    ],
)
def test_every_api_error_has_a_clear_message(
    visit: Visit, tmp_path: Path, status: int, code: str, explained: str
) -> None:
    """The server's other refusals, answered by the browser's network layer as the API words them."""
    page = visit.page
    message = f"what the server said about {status}"

    def refuse(route: Route, request: Request) -> None:
        if request.method != "POST":
            route.continue_()
            return
        body = json.dumps({"error": {"code": code, "message": message}})
        headers = {"Retry-After": "7"} if status == 429 else {}
        route.fulfill(status=status, content_type="application/json", body=body, headers=headers)

    page.route("**/v1/jobs", refuse)
    path = tmp_path / "page.png"
    path.write_bytes(png_bytes(draw_page(LINES[:1])[0]))
    page.set_input_files("#file", str(path))
    error = page.locator("#error")
    expect(error).to_contain_text(explained)
    expect(error).to_contain_text(f"{message} ({code}, HTTP {status})")
    if status == 429:
        expect(error).to_contain_text("Retry after 7 s")
    visit.shot(f"error-{status}")


def test_operations_view_lists_engines_live_workers_and_queues(visit: Visit) -> None:
    page = visit.page
    page.locator("#ops").scroll_into_view_if_needed()
    workers = page.locator("#ops-workers tbody tr th")
    expect(workers).to_contain_text(["easyocr@test", "main@test", "paddleocr@test"], timeout=20_000)
    queues = page.locator("#ops-queues tbody")
    for queue in ("engine.tesseract", "engine.paddleocr", "combine"):
        expect(queues).to_contain_text(queue)
    engines = page.locator("#ops-engines tbody")
    for engine in ENGINES:
        expect(engines).to_contain_text(engine)
    expect(page.locator("#ops-meta")).to_contain_text("server version")
    # It refreshes: by itself every few seconds, and at once on request.
    with page.expect_response(lambda r: r.url.endswith("/status")):
        page.click("#ops-refresh")
    with page.expect_response(lambda r: r.url.endswith("/status"), timeout=10_000):
        pass
    visit.shot("operations", full_page=True)


HOSTILE = "<img src=x onerror=window.pwned=1>"
CRAFTED_JOB = {
    "id": "crafted0000",
    "status": "succeeded",
    "cached": False,
    "options": {"mode": "page"},
    "error": None,
    "result": {
        "mode": "page",
        "kind": "page",
        "text": "Total <b>",
        "method": "weighted",
        "confidence": 0.5,
        "agreement": 0.5,
        "weights": {"tesseract": 1.2, "paddleocr": 1.3},
        "lines": [
            {
                "box": [60, 60, 400, 100],
                "text": "Total <b>",
                "confidence": 0.5,
                "agreement": 0.5,
                "char_confidences": [0.99, 0.98, 0.97, 0.2, 0.1, 0.99, 0.9, 0.9, 0.9],
                "disagreements": [{"start": 3, "end": 5, "text": "al", "readings": {"tesseract": HOSTILE}}],
                "words": [{"text": "Total", "box": [60, 60, 200, 100]}, {"text": "<b>", "box": [220, 60, 400, 100]}],
                "engines": {
                    "tesseract": {"text": f"Tot{HOSTILE} <b>", "confidence": 0.4, "char_confidences": []},
                    "paddleocr": {"text": "Total <b>", "confidence": 0.9, "char_confidences": []},
                },
                "selected": None,
            }
        ],
        "blocks": [{"box": [60, 60, 400, 100], "lines": [0]}],
        "engines": {
            "tesseract": {"text": f"Tot{HOSTILE} <b>", "confidence": 0.4, "model_version": "t-1", "error": None},
            "paddleocr": {"text": "Total <b>", "confidence": 0.9, "model_version": "p-1", "error": None},
        },
        "failed_engines": [],
    },
}


def test_confidence_shading_and_disagreements_are_drawn_and_api_text_stays_text(visit: Visit) -> None:
    """A pasted image and a known result (answered by the browser's network layer): low-confidence
    characters are darker, the span engines disagreed on is marked with each engine's reading, and markup
    in a reading is shown as text, never run."""
    page = visit.page
    queued = {**CRAFTED_JOB, "status": "queued", "result": None}

    def submit(route: Route, request: Request) -> None:
        route.fulfill(status=202, content_type="application/json", body=json.dumps(queued))

    page.route("**/v1/jobs", submit)
    page.route("**/v1/jobs/crafted0000", lambda route: route.fulfill(json=CRAFTED_JOB))
    # Pasted from the clipboard (Ctrl+V anywhere on the page).
    page.evaluate(
        """bytes => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "image.png", {type: "image/png"}));
            document.body.dispatchEvent(new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true}));
        }""",
        list(png_bytes(draw_page(["Total <b>"])[0])),
    )
    expect(page.locator("#file-name")).to_contain_text("pasted image")

    line = page.locator("#views .lines button.line")
    expect(line).to_have_count(1)
    expect(line.locator(".text")).to_have_text("Total <b>")
    mark = line.locator("mark.disagree")
    expect(mark).to_have_text("al")
    assert HOSTILE in (mark.get_attribute("title") or "")
    expect(page.locator("#views svg rect.line-box.disputed")).to_have_count(1)
    alphas = line.locator(".ch").evaluate_all(
        "nodes => nodes.map(n => Number((getComputedStyle(n).backgroundColor.match(/[\\d.]+(?=\\)$)/) || [1])[0]))"
    )
    assert alphas[4] > alphas[2] > alphas[0]  # 'l' (0.1) darker than 't' (0.97) darker than 'T' (0.99)

    line.click()
    detail = page.locator("#detail")
    expect(detail).to_contain_text(f"tesseract read “{HOSTILE}”")
    expect(detail.locator("table.votes tbody tr")).to_have_count(2)
    expect(detail.locator("tr", has_text="tesseract")).to_contain_text("differs")
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("window.pwned") is None
    visit.shot("disagreements", full_page=True)
