"""Documents through the real API, workers and PP-OCR: reading order over columns, pages turned or skewed,
PDF and multi-page TIFF in (a corrupt page fails alone), and every output format rendered from the result."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.integration.conftest import FONT, wait_job
from tests.rendering import cer, contains
from tests.xml_formats import validate_alto, validate_hocr, validate_page_xml

pytestmark = pytest.mark.integration
WORDS = [
    "river",
    "stone",
    "lantern",
    "orchard",
    "copper",
    "meadow",
    "harbor",
    "violet",
    "cinder",
    "maple",
    "falcon",
    "ember",
    "quartz",
    "willow",
    "saddle",
    "pepper",
    "marble",
    "thistle",
    "anchor",
    "basket",
    "candle",
    "garden",
    "island",
    "jacket",
    "kettle",
    "ladder",
    "mirror",
    "needle",
    "pocket",
    "ribbon",
    "silver",
    "timber",
    "velvet",
    "wagon",
    "yellow",
    "zephyr",
    "bridge",
    "canyon",
    "desert",
    "forest",
    "glacier",
    "valley",
]
Box = tuple[int, int, int, int]


def sentence(seed: int, words: int = 5) -> str:
    """A distinct line of ordinary words (no two lines alike, so order can be checked)."""
    return " ".join(WORDS[(seed * 7 + k * 3) % len(WORDS)] for k in range(words)).capitalize() + f" {seed}"


def draw_lines(
    draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont, origin: tuple[int, int], texts: list[str], pitch: int
) -> list[Box]:
    boxes = []
    for row, text in enumerate(texts):
        at = (origin[0], origin[1] + pitch * row)
        draw.text(at, text, font=font, fill=0)
        boxes.append(tuple(int(v) for v in draw.textbbox(at, text, font=font)))
    return boxes


def column_page(columns: int) -> tuple[Image.Image, list[str], list[Box]]:
    """A page with a header across, ``columns`` columns (the first with a caption after a gap) and a footer;
    returns it with its lines in reading order and their ink boxes."""
    font, small = ImageFont.truetype(FONT, 24), ImageFont.truetype(FONT, 20)
    width = 560 * columns + 80
    page = Image.new("L", (width, 900), 255)
    draw = ImageDraw.Draw(page)
    order: list[str] = []
    boxes: list[Box] = []
    header = f"The {columns} column gazette header line"
    boxes += draw_lines(draw, font, (40, 30), [header], 40)
    order.append(header)
    seed = 1
    for column in range(columns):
        left = 40 + 560 * column
        texts = [sentence(seed + k, 4) for k in range(6)]
        seed += 6
        boxes += draw_lines(draw, font, (left, 120), texts, 44)
        order += texts
        if column == 0:
            caption = "Figure 1 a caption under the map"
            boxes += draw_lines(draw, small, (left, 420), [caption], 40)
            order.append(caption)
        texts = [sentence(seed + k, 4) for k in range(5)]
        seed += 5
        boxes += draw_lines(draw, font, (left, 500), texts, 44)
        order += texts
    footer = "Printed on recycled paper footer"
    boxes += draw_lines(draw, font, (40, 820), [footer], 40)
    order.append(footer)
    return page, order, boxes


def upright_page() -> tuple[Image.Image, list[str]]:
    font = ImageFont.truetype(FONT, 26)
    page = Image.new("L", (1000, 760), 255)
    texts = [sentence(40 + k, 6) for k in range(10)]
    draw_lines(ImageDraw.Draw(page), font, (50, 50), texts, 64)
    return page, texts


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def submit(client, data: bytes, name: str, **fields: str) -> dict:
    # PP-OCR alone, as the shipped preset reads pages (the test service also enables engines no worker here serves).
    form = {"image": (io.BytesIO(data), name), "cache": "false", "engines": "paddleocr", **fields}
    response = client.post("/v1/jobs", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def finished(client, job: dict, timeout: float = 120) -> dict:
    return wait_job(lambda jid: client.get(f"/v1/jobs/{jid}").get_json(), job["id"], timeout=timeout)


@pytest.fixture(scope="module")
def column_jobs(app_client, model_workers) -> dict[int, tuple[dict, list[str], list[Box]]]:
    pages = {columns: column_page(columns) for columns in (2, 3)}
    jobs = {
        columns: submit(app_client, encoded(page), f"{columns}col.png", mode="page")
        for columns, (page, _, _) in pages.items()
    }
    return {columns: (finished(app_client, jobs[columns]), pages[columns][1], pages[columns][2]) for columns in pages}


@pytest.mark.parametrize("columns", [2, 3])
def test_columns_with_a_header_and_a_caption_come_back_in_reading_order(column_jobs, columns: int) -> None:
    job, expected, ink = column_jobs[columns]
    assert job["status"] == "succeeded", job
    lines = job["result"]["lines"]
    assert len(lines) == len(expected), [line["text"] for line in lines]
    for line, text, box in zip(lines, expected, ink, strict=True):
        assert cer(line["text"], text) <= 0.1, (line["text"], text)
        assert contains(line["box"], box, slack=3), (line["box"], box, text)


@pytest.mark.parametrize("columns", [2, 3])
def test_blocks_are_in_reading_order_and_never_span_two_columns(column_jobs, columns: int) -> None:
    job, expected, _ = column_jobs[columns]
    result = job["result"]
    blocks = result["blocks"]
    assert [i for block in blocks for i in block["lines"]] == list(range(len(expected)))
    header, footer = blocks[0], blocks[-1]
    assert header["lines"] == [0] and footer["lines"] == [len(expected) - 1]
    for block in blocks[1:-1]:
        left, _, right, _ = block["box"]
        assert right - left < 560, block  # inside one column
        for index in block["lines"]:
            assert contains(block["box"], result["lines"][index]["box"])


@pytest.fixture(scope="module")
def turned_jobs(app_client, model_workers) -> dict[str, tuple[dict, Image.Image]]:
    page, _ = upright_page()
    variants = {
        "0": page,
        "90": page.rotate(-90, expand=True),  # PIL turns counter-clockwise: -90 is a clockwise quarter turn
        "180": page.rotate(180, expand=True),
        "270": page.rotate(-270, expand=True),
        "skew3": page.rotate(3, expand=True, fillcolor=255, resample=Image.BICUBIC),
    }
    jobs = {name: submit(app_client, encoded(image), f"{name}.png", mode="page") for name, image in variants.items()}
    return {name: (finished(app_client, jobs[name]), variants[name]) for name in variants}


@pytest.mark.parametrize("variant,rotation", [("90", 90), ("180", 180), ("270", 270), ("skew3", 0)])
def test_a_turned_or_skewed_page_reads_the_same_as_upright(turned_jobs, variant: str, rotation: int) -> None:
    _, expected = upright_page()
    upright_job, _ = turned_jobs["0"]
    job, image = turned_jobs[variant]
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["orientation"]["rotation"] == rotation
    if variant == "skew3":
        assert 2.5 <= abs(result["orientation"]["skew"]) <= 3.5, result["orientation"]
    assert cer(result["text"], "\n".join(expected)) <= cer(upright_job["result"]["text"], "\n".join(expected)) + 0.02
    assert cer(result["text"], "\n".join(expected)) <= 0.05, result["text"]
    # Boxes are on the uploaded image: inside it, around ink, and tall when the page lies on its side.
    gray = np.asarray(image.convert("L"))
    for line in result["lines"]:
        left, top, right, bottom = line["box"]
        assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height
        assert gray[top:bottom, left:right].min() < 128, line
        if rotation in (90, 270):
            assert bottom - top > right - left, line


def test_an_upright_page_reports_no_turn(turned_jobs) -> None:
    job, _ = turned_jobs["0"]
    assert job["result"]["orientation"] == {"rotation": 0, "skew": 0.0}


def three_pages() -> list[Image.Image]:
    font = ImageFont.truetype(FONT, 30)
    pages = []
    for number in range(1, 4):
        page = Image.new("L", (850, 500), 255)
        draw_lines(ImageDraw.Draw(page), font, (60, 60), [f"Page {number} of the report", sentence(70 + number)], 70)
        pages.append(page)
    return pages


def pdf_of(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buffer.getvalue()


def tiff_of(pages: list[Image.Image], corrupt: int | None = None) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    data = bytearray(buffer.getvalue())
    if corrupt is not None:
        with Image.open(io.BytesIO(bytes(data))) as image:
            image.seek(corrupt)
            for offset, count in zip(image.tag_v2[273], image.tag_v2[279], strict=True):
                data[offset : offset + count] = bytes([0x55]) * count
    return bytes(data)


@pytest.fixture(scope="module")
def document_jobs(app_client, model_workers) -> dict[str, dict]:
    # Fresh images for each file: saving a PDF leaves encoder settings on the images that a TIFF save trips on.
    sent = {
        "pdf": submit(app_client, pdf_of(three_pages()), "report.pdf"),
        "tiff": submit(app_client, tiff_of(three_pages()), "report.tif"),
        "broken": submit(app_client, tiff_of(three_pages(), corrupt=1), "broken.tif"),
    }
    for job in sent.values():
        assert job["document"]["page_count"] == 3 and len(job["pages"]) == 3
    return {name: finished(app_client, job) for name, job in sent.items()}


@pytest.mark.parametrize("name", ["pdf", "tiff"])
def test_a_three_page_document_gives_three_pages_in_order(document_jobs, name: str) -> None:
    job = document_jobs[name]
    assert job["status"] == "succeeded", job
    pages = job["result"]["pages"]
    assert [page["page"] for page in pages] == [1, 2, 3]
    assert [page["status"] for page in pages] == ["succeeded"] * 3 and job["result"]["failed_pages"] == []
    for number, page in enumerate(pages, start=1):
        assert cer(page["result"]["text"].split("\n")[0], f"Page {number} of the report") <= 0.1, page["result"]["text"]
    assert job["result"]["text"].count("\f") == 2
    assert [page["status"] for page in job["pages"]] == ["succeeded"] * 3


def test_a_corrupt_page_fails_alone(document_jobs) -> None:
    job = document_jobs["broken"]
    assert job["status"] == "succeeded", job
    pages = job["result"]["pages"]
    assert [page["status"] for page in pages] == ["succeeded", "failed", "succeeded"]
    assert pages[1]["error"]["code"] == "corrupt_page" and job["result"]["failed_pages"] == [2]
    assert cer(pages[2]["result"]["text"].split("\n")[0], "Page 3 of the report") <= 0.1


def test_a_document_is_refused_by_the_synchronous_endpoints(app_client) -> None:
    data = pdf_of(three_pages())
    response = app_client.post(
        "/v1/predict_text", data={"image": (io.BytesIO(data), "r.pdf")}, content_type="multipart/form-data"
    )
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "document_not_accepted"


def _formats(client, job_id: str, fmt: str, **params: str):
    query = "&".join(f"{k}={v}" for k, v in {"format": fmt, **params}.items())
    return client.get(f"/v1/jobs/{job_id}/result?{query}")


@pytest.mark.parametrize("source", ["column", "pdf", "broken"])
def test_hocr_alto_and_page_xml_validate_and_hold_the_text(app_client, column_jobs, document_jobs, source) -> None:
    job = column_jobs[2][0] if source == "column" else document_jobs[source]
    texts = _page_texts(job)
    hocr = _formats(app_client, job["id"], "hocr")
    assert hocr.status_code == 200, hocr.get_json()
    validate_hocr(hocr.data)
    alto = _formats(app_client, job["id"], "alto")
    assert alto.status_code == 200 and alto.mimetype.endswith("xml")
    validate_alto(alto.data)
    ns = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
    strings = [s.get("CONTENT") for s in ET.fromstring(alto.data).iterfind(".//a:String", ns)]
    assert "".join(strings) == "".join("".join(texts).split())
    for number, text in enumerate(texts, start=1):
        page = _formats(app_client, job["id"], "page", page=str(number))
        assert page.status_code == 200
        validate_page_xml(page.data)
        ns = {"p": "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"}
        lines = ET.fromstring(page.data).iterfind(".//p:TextLine/p:TextEquiv/p:Unicode", ns)
        assert _squeezed("".join(line.text or "" for line in lines)) == _squeezed(text)
    assert _formats(app_client, job["id"], "page", page=str(len(texts) + 1)).status_code == 422


@pytest.mark.parametrize("source", ["column", "pdf"])
def test_the_searchable_pdf_gives_back_the_result_text(app_client, column_jobs, document_jobs, source) -> None:
    job = column_jobs[2][0] if source == "column" else document_jobs[source]
    response = _formats(app_client, job["id"], "pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = pdfium.PdfDocument(response.data)
    texts = _page_texts(job)
    assert len(pdf) == len(texts)
    for index, text in enumerate(texts):
        textpage = pdf[index].get_textpage()
        assert _squeezed(textpage.get_text_range()) == _squeezed(text)


def test_text_format_and_errors(app_client, column_jobs, document_jobs) -> None:
    job = document_jobs["tiff"]
    text = _formats(app_client, job["id"], "text")
    assert text.status_code == 200 and text.mimetype == "text/plain"
    assert text.data.decode() == job["result"]["text"]
    assert _formats(app_client, job["id"], "docx").status_code == 422
    assert app_client.get("/v1/jobs/nope/result?format=text").status_code == 404


def _page_texts(job: dict) -> list[str]:
    if "pages" in job["result"]:
        return [(page["result"] or {}).get("text", "") for page in job["result"]["pages"]]
    return [job["result"]["text"]]


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def born_digital_pdf() -> bytes:
    """A PDF whose text is real text (a text layer), as word processors write them."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(612, 792))
    for lines in (["Quarterly figures", "Revenue rose in March"], ["Second page of text"]):
        pdf.add_page()
        pdf.set_font("helvetica", size=18)
        for row, text in enumerate(lines):
            pdf.text(72, 100 + 40 * row, text)
    return bytes(pdf.output())


def test_a_pdf_text_layer_is_reused_when_asked(app_client, model_workers) -> None:
    data = born_digital_pdf()
    job = finished(app_client, submit(app_client, data, "digital.pdf", pdf_text="true"))
    assert job["status"] == "succeeded", job
    first, second = (page["result"] for page in job["result"]["pages"])
    assert first["source"] == "pdf_text" and set(first["engines"]) == {"pdf_text"}
    assert first["text"] == "Quarterly figures\nRevenue rose in March" and second["text"] == "Second page of text"
    # The boxes are on the rendered page (200 dpi: 1700 x 2200), where the text is drawn.
    width, height = job["result"]["pages"][0]["size"]
    assert (width, height) == (1700, 2200)
    left, top, right, bottom = first["lines"][0]["box"]
    assert abs(left - 200) < 20 and abs(bottom - 278) < 20 and right > left and bottom > top
    read = finished(app_client, submit(app_client, data, "digital.pdf"))  # not asked: the engines read it
    assert set(read["result"]["pages"][0]["result"]["engines"]) == {"paddleocr"}
    assert cer(read["result"]["pages"][0]["result"]["text"], first["text"]) < 0.1


def test_a_document_sent_twice_with_one_idempotency_key_is_one_job(app_client, model_workers) -> None:
    data = tiff_of(three_pages())
    headers = {"Idempotency-Key": "document-once"}

    def send(body: bytes, **fields: str):
        form = {"image": (io.BytesIO(body), "again.tif"), "cache": "false", "engines": "paddleocr", **fields}
        return app_client.post("/v1/jobs", data=form, content_type="multipart/form-data", headers=headers)

    first, second = send(data), send(data)
    assert first.status_code == 202 and second.status_code == 202, (first.get_json(), second.get_json())
    assert second.get_json()["id"] == first.get_json()["id"]
    assert second.get_json()["document"]["page_count"] == 3
    # The same key with another request is refused, and a document read as a character is a 422 naming why.
    conflict = send(data, mode="line")
    assert conflict.status_code == 422 and conflict.get_json()["error"]["code"] == "idempotency_conflict"
    refused = app_client.post(
        "/v1/jobs",
        data={"image": (io.BytesIO(data), "c.tif"), "mode": "char", "engines": "paddleocr"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_mode"
    # Refused before its Idempotency-Key is claimed: the corrected request may use the same key at once.
    headers["Idempotency-Key"] = "document-in-char-mode"
    assert send(data, mode="char").get_json()["error"]["code"] == "invalid_mode"
    corrected = send(data, mode="page")
    assert corrected.status_code == 202, corrected.get_json()
    assert finished(app_client, first.get_json())["status"] == "succeeded"
