"""The exporters (documents.export): text, hOCR, ALTO, PAGE XML and the searchable PDF, on a hand-made document.

The document has two pages: the first with two blocks of three lines (one line whose words were not
located), XML-special characters and non-ASCII letters; the second failed. The page images are drawn
with the same words at the same boxes, so that the boxes contain the ink.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import hocr_spec
import pypdfium2 as pdfium
import pytest
import xmlschema
from PIL import Image, ImageDraw, ImageFont

from documents.export import FORMATS, MEDIA_TYPES, render
from documents.export.alto import ALTO_NAMESPACE, render_alto
from documents.export.hocr import render_hocr
from documents.export.layout import placed_words
from documents.export.page_xml import PAGE_NAMESPACE, render_page_xml, render_page_xml_all
from documents.export.pdf import DEFAULT_FONT, render_pdf
from documents.export.text import render_text
from documents.model import Block, Box, Document, Line, Page, Reading, Word

SCHEMAS = Path(__file__).resolve().parents[2] / "documents" / "schemas"
XHTML = "{http://www.w3.org/1999/xhtml}"
WIDTH, HEIGHT = 1240, 1754  # A4 at 150 DPI
FONT_SIZE = 40
LONG_S = "\u017f"  # LATIN SMALL LETTER LONG S, escaped: the linter takes the letter for an f
UNLOCATED = f"Wa{LONG_S}{LONG_S}er und Brot"  # its words have no boxes
BLOCK_TEXTS = (
    ("Invoice <No.> 42 & Co.", 'Straße "café" l\'été', UNLOCATED),
    ("Total: 1 234,50 €", 'Tom\'s <b>bold</b> & "quoted"', "Ende."),
)
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _layout() -> tuple[Document, Image.Image]:
    """The document and page 1's image, the words drawn where their boxes say."""
    font = ImageFont.truetype(str(DEFAULT_FONT), FONT_SIZE)
    image = Image.new("L", (WIDTH, HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    blocks, y = [], 120
    for block_number, texts in enumerate(BLOCK_TEXTS):
        lines = []
        for line_number, text in enumerate(texts):
            x, words = 100 + 40 * block_number, []
            for token in text.split():
                left, top, right, bottom = draw.textbbox((x, y), token, font=font)
                draw.text((x, y), token, font=font, fill=0)
                box = (int(left), int(top), int(right) + 1, int(bottom) + 1)
                located = box if text != UNLOCATED else None
                words.append(Word(text=token, box=located, confidence=0.9 - 0.01 * len(words)))
                x = int(right) + 22
                words_box = box
            line_box = (100 + 40 * block_number - 4, y - 2, words_box[2] + 4, y + 56)
            lines.append(
                Line(
                    text=text,
                    box=line_box,
                    confidence=0.8 + 0.05 * line_number,
                    words=tuple(words),
                    char_confidences=tuple(0.9 for _ in text),
                    readings=(Reading(engine="tesseract", text=text, confidence=0.8),),
                )
            )
            y += 80
        blocks.append(Block(box=_around([line.box for line in lines], 10), lines=tuple(lines)))
        y += 200
    first = Page(number=1, width=WIDTH, height=HEIGHT, blocks=tuple(blocks))
    failed = Page(number=2, width=WIDTH, height=HEIGHT, error="the page could not be decoded")
    return Document(pages=(first, failed), engines=("easyocr", "tesseract")), image


def _around(boxes: list[Box], margin: int) -> Box:
    return (
        min(b[0] for b in boxes) - margin,
        min(b[1] for b in boxes) - margin,
        max(b[2] for b in boxes) + margin,
        max(b[3] for b in boxes) + margin,
    )


@pytest.fixture(scope="module")
def sample() -> tuple[Document, list[Image.Image]]:
    document, image = _layout()
    return document, [image, Image.new("L", (WIDTH, HEIGHT), 230)]


@pytest.fixture(scope="module")
def page_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "pagecontent-2019-07-15.xsd"))


@pytest.fixture(scope="module")
def alto_schema() -> xmlschema.XMLSchema:
    # The official file imports XLink from the Library of Congress' site: point that import at the copy here.
    xlink = ("http://www.w3.org/1999/xlink", str(SCHEMAS / "xlink-mets.xsd"))
    return xmlschema.XMLSchema(str(SCHEMAS / "alto-4-3.xsd"), locations=[xlink])


def _tokens(page: Page) -> list[str]:
    return [token for line in page.lines for token in line.text.split()]


def _expected_boxes(page: Page) -> list[Box]:
    return [word.box for line in page.lines for word in placed_words(line)]


def _squeeze(text: str) -> str:
    return "".join(text.split())


# --- the shared layout helper ------------------------------------------------------------------------------


def test_located_words_keep_their_boxes_and_unlocated_ones_split_the_line(sample):
    document, _ = sample
    for line in document.pages[0].lines:
        placed = placed_words(line)
        assert [w.text for w in placed] == line.text.split()
        if line.text == UNLOCATED:
            assert all(w.estimated for w in placed)
            assert placed[0].box[0] == line.box[0] and placed[-1].box[2] == line.box[2]
            assert all(w.box[1] == line.box[1] and w.box[3] == line.box[3] for w in placed)
            # By character count: its first word (6 letters) takes 6 of the line's 15 characters.
            width = line.box[2] - line.box[0]
            assert placed[0].box[2] - placed[0].box[0] == pytest.approx(width * 6 / 15, abs=1)
        else:
            assert [w.box for w in placed] == [w.box for w in line.words]
            assert not any(w.estimated for w in placed)


def test_an_unlocated_run_between_located_words_fills_the_gap():
    line = Line(
        text="a bb c",
        box=(0, 0, 100, 10),
        confidence=0.5,
        words=(Word("a", (0, 0, 10, 10), 0.9), Word("bb", None, 0.8), Word("c", (90, 0, 100, 10), 0.7)),
    )
    placed = placed_words(line)
    assert [w.box for w in placed] == [(0, 0, 10, 10), (10, 0, 90, 10), (90, 0, 100, 10)]
    assert [w.estimated for w in placed] == [False, True, False]


def test_words_that_are_not_the_lines_tokens_give_way_to_the_line_text():
    line = Line(text="one two", box=(0, 0, 70, 10), confidence=0.5, words=(Word("uno", (0, 0, 30, 10), 0.9),))
    placed = placed_words(line)
    assert [w.text for w in placed] == ["one", "two"]
    assert placed[0].box == (0, 0, 30, 10) and placed[1].box == (40, 0, 70, 10)


# --- text ------------------------------------------------------------------------------------------------


def test_text_is_the_documents_text(sample):
    document, _ = sample
    body = render_text(document)
    assert body.decode("utf-8") == document.text
    assert "\f" in document.text  # the failed page is an empty page after a form feed
    assert render(document, "text") == (body, "text/plain; charset=utf-8")


# --- PAGE XML ---------------------------------------------------------------------------------------------


def test_page_xml_of_every_page_is_valid_and_matches_the_model(sample, page_schema):
    document, _ = sample
    files = render_page_xml_all(document, image_names=["scan-1.png", "scan-2.png"], created=CREATED)
    assert len(files) == 2
    for body, page in zip(files, document.pages, strict=True):
        page_schema.validate(io.BytesIO(body))
        root = ET.fromstring(body)
        ns = {"pc": PAGE_NAMESPACE}
        page_element = root.find("pc:Page", ns)
        assert page_element is not None
        assert page_element.get("imageFilename") == f"scan-{page.number}.png"
        assert (page_element.get("imageWidth"), page_element.get("imageHeight")) == (str(WIDTH), str(HEIGHT))
        assert root.findtext("pc:Metadata/pc:Creator", namespaces=ns) == "ocr-server"
        assert root.findtext("pc:Metadata/pc:Created", namespaces=ns) == "2026-01-02T03:04:05Z"
        regions = page_element.findall("pc:TextRegion", ns)
        assert len(regions) == len(page.blocks)
        refs = page_element.findall("pc:ReadingOrder/pc:OrderedGroup/pc:RegionRefIndexed", ns)
        assert [r.get("regionRef") for r in sorted(refs, key=lambda r: int(r.get("index", "")))] == [
            r.get("id") for r in regions
        ]
        for region, block in zip(regions, page.blocks, strict=True):
            assert _points(region) == block.box
            lines = region.findall("pc:TextLine", ns)
            assert len(lines) == len(block.lines)
            for element, line in zip(lines, block.lines, strict=True):
                assert element.findtext("pc:TextEquiv/pc:Unicode", namespaces=ns) == line.text
                assert float(element.find("pc:TextEquiv", ns).get("conf")) == pytest.approx(line.confidence)
                assert _points(element) == line.box
                words = element.findall("pc:Word", ns)
                assert [w.findtext("pc:TextEquiv/pc:Unicode", namespaces=ns) for w in words] == line.text.split()
                assert [_points(w) for w in words] == [w.box for w in placed_words(line)]
            region_text = region.findtext("pc:TextEquiv/pc:Unicode", namespaces=ns)
            assert region_text == "\n".join(line.text for line in block.lines)
    failed = ET.fromstring(files[1])
    assert "could not be decoded" in failed.findtext("pc:Metadata/pc:Comments", namespaces={"pc": PAGE_NAMESPACE})


def _points(element: ET.Element) -> Box:
    coords = element.find(f"{{{PAGE_NAMESPACE}}}Coords")
    assert coords is not None
    points = [tuple(int(v) for v in point.split(",")) for point in coords.get("points", "").split()]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def test_page_xml_picks_a_page_by_number(sample, page_schema):
    document, _ = sample
    first = render_page_xml(document, created=CREATED)
    assert first == render_page_xml(document, 1, created=CREATED)
    second = render_page_xml(document, 2, image_name="b.png")
    page_schema.validate(io.BytesIO(second))
    assert b'imageFilename="b.png"' in second
    with pytest.raises(ValueError, match="no page 3"):
        render_page_xml(document, 3)
    body, media = render(document, "page", image_names=["a.png", "b.png"], page_number=2)
    assert media == "application/xml" and b'imageFilename="b.png"' in body


# --- ALTO ---------------------------------------------------------------------------------------------------


def test_alto_is_valid_against_the_official_schema_and_matches_the_model(sample, alto_schema):
    document, _ = sample
    body = render_alto(document, image_names=["scan.tif", "scan.tif"], created=CREATED)
    alto_schema.validate(io.BytesIO(body))
    root = ET.fromstring(body)
    ns = {"a": ALTO_NAMESPACE}
    assert root.get("SCHEMAVERSION") in ("4.2", "4.3")
    assert root.findtext("a:Description/a:MeasurementUnit", namespaces=ns) == "pixel"
    assert root.findtext("a:Description/a:sourceImageInformation/a:fileName", namespaces=ns) == "scan.tif"
    software = "a:Description/a:Processing/a:processingSoftware/a:softwareName"
    assert root.findtext(software, namespaces=ns) == "ocr-server"
    pages = root.findall("a:Layout/a:Page", ns)
    assert [(p.get("PHYSICAL_IMG_NR"), p.get("WIDTH"), p.get("HEIGHT")) for p in pages] == [
        ("1", str(WIDTH), str(HEIGHT)),
        ("2", str(WIDTH), str(HEIGHT)),
    ]
    first = pages[0]
    strings = first.findall(".//a:String", ns)
    assert [s.get("CONTENT") for s in strings] == _tokens(document.pages[0])
    assert [_alto_box(s) for s in strings] == _expected_boxes(document.pages[0])
    assert all(0.0 <= float(s.get("WC", "")) <= 1.0 for s in strings)
    blocks = first.findall("a:PrintSpace/a:TextBlock", ns)
    assert [_alto_box(b) for b in blocks] == [b.box for b in document.pages[0].blocks]
    lines = first.findall(".//a:TextLine", ns)
    assert [_alto_box(line) for line in lines] == [line.box for line in document.pages[0].lines]
    for line in lines:  # an SP between every two strings, none at the ends
        kinds = [child.tag.split("}")[1] for child in line]
        assert kinds == ["String", "SP"] * (len(kinds) // 2) + ["String"]
    ids = [element.get("ID") for element in root.iter() if element.get("ID")]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Za-z_][\w.-]*", i) for i in ids)
    assert pages[1].findall(".//a:String", ns) == []


def test_alto_lists_distinct_image_names_per_page(sample, alto_schema):
    document, _ = sample
    body = render_alto(document, image_names=["a.png", "b.png"])
    alto_schema.validate(io.BytesIO(body))
    source = ET.fromstring(body).find(f"{{{ALTO_NAMESPACE}}}Description/{{{ALTO_NAMESPACE}}}sourceImageInformation")
    assert source is not None
    assert [e.text for e in source] == ["a.png", "b.png"]


def _alto_box(element: ET.Element) -> Box:
    left, top = int(element.get("HPOS", "")), int(element.get("VPOS", ""))
    return (left, top, left + int(element.get("WIDTH", "")), top + int(element.get("HEIGHT", "")))


# --- hOCR ---------------------------------------------------------------------------------------------------


def test_hocr_is_xhtml_with_capabilities_and_nested_boxes(sample):
    document, _ = sample
    body = render_hocr(document, image_names=["scan-1.png", 'odd "name".png'])
    root = ET.fromstring(body)  # well-formed XML, whatever the text's <&>"'
    metas = {m.get("name"): m.get("content") for m in root.iter(f"{XHTML}meta") if m.get("name")}
    capabilities = (metas.get("ocr-capabilities") or "").split()
    assert {"ocr_page", "ocr_carea", "ocr_line", "ocrx_word", "ocrp_wconf"} <= set(capabilities)
    assert metas.get("ocr-system") == "ocr-server"
    used = {e.get("class") for e in root.iter() if (e.get("class") or "").startswith("ocr")}
    assert used <= set(capabilities)
    _check_nested(root, None)
    pages = [e for e in root.iter() if e.get("class") == "ocr_page"]
    assert len(pages) == 2
    assert _properties(pages[0])["image"] == '"scan-1.png"'
    assert _properties(pages[1])["image"] == r'"odd \"name\".png"'
    assert [_properties(p)["ppageno"] for p in pages] == ["0", "1"]
    words = [e for e in pages[0].iter() if e.get("class") == "ocrx_word"]
    assert [w.text for w in words] == _tokens(document.pages[0])
    assert [_bbox(w) for w in words] == _expected_boxes(document.pages[0])
    located = [w.confidence for line in document.pages[0].lines for w in line.words]
    assert [int(_properties(w)["x_wconf"]) for w in words] == [round(c * 100) for c in located]
    lines = [e for e in pages[0].iter() if e.get("class") == "ocr_line"]
    assert [_bbox(line) for line in lines] == [line.box for line in document.pages[0].lines]
    assert not [e for e in pages[1].iter() if e.get("class") == "ocrx_word"]


def _properties(element: ET.Element) -> dict[str, str]:
    found = {}
    for part in (element.get("title") or "").split("; "):
        key, _, value = part.partition(" ")
        found[key] = value
    return found


def _bbox(element: ET.Element) -> Box:
    left, top, right, bottom = (int(v) for v in _properties(element)["bbox"].split())
    return (left, top, right, bottom)


def _check_nested(element: ET.Element, outer: Box | None) -> None:
    """Every ocr_* element has a bbox, inside that of the ocr_* element it is in."""
    box = outer
    if (element.get("class") or "").startswith("ocr"):
        box = _bbox(element)
        assert box[0] <= box[2] and box[1] <= box[3]
        if outer is not None:
            assert outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3], (
                element.get("id"),
                box,
                outer,
            )
    for child in element:
        _check_nested(child, box)


def test_hocr_passes_the_hocr_spec_validator(sample, tmp_path):
    document, _ = sample
    path = tmp_path / "out.hocr"
    path.write_bytes(render_hocr(document, image_names=["scan-1.png", "scan-2.png"]))
    report = hocr_spec.HocrValidator("standard").validate(str(path))
    assert report.is_valid(), report.format("text")


# --- PDF ------------------------------------------------------------------------------------------------------


def test_pdf_text_layer_gives_the_text_back_at_the_words_places(sample):
    document, images = sample
    body = render_pdf(document, images)
    pdf = pdfium.PdfDocument(body)
    assert len(pdf) == 2
    for index, page in enumerate(document.pages):
        pdf_page = pdf[index]
        width, height = pdf_page.get_size()
        # No DPI in the images: 300 DPI.
        assert (width, height) == pytest.approx((WIDTH * 72 / 300, HEIGHT * 72 / 300))
        textpage = pdf_page.get_textpage()
        assert _squeeze(textpage.get_text_range()) == _squeeze(page.text)
    first_page = pdf[0]
    textpage = first_page.get_textpage()
    _, page_height = first_page.get_size()
    for line in document.pages[0].lines:
        word = line.words[0]
        target = word.box if word.box is not None else line.box
        found = _pdf_box(textpage, word.text if word.box is not None else line.text, page_height, 300)
        tolerance = (0.02 * WIDTH, 0.02 * HEIGHT)
        for index, (got, want) in enumerate(zip(found, target, strict=True)):
            assert got == pytest.approx(want, abs=tolerance[index % 2]), (word.text, found, target)


def _pdf_box(textpage: pdfium.PdfTextPage, text: str, page_height: float, dpi: float) -> Box:
    """Where ``text`` is on the page, in image pixels: the union of its characters' boxes."""
    searcher = textpage.search(text, match_case=True)
    start, count = searcher.get_next()
    boxes = [textpage.get_charbox(i) for i in range(start, start + count)]
    boxes = [b for b in boxes if b[2] > b[0]]  # spaces have no ink
    left, right = min(b[0] for b in boxes), max(b[2] for b in boxes)
    bottom, top = min(b[1] for b in boxes), max(b[3] for b in boxes)
    scale = dpi / 72
    return (
        round(left * scale),
        round((page_height - top) * scale),
        round(right * scale),
        round((page_height - bottom) * scale),
    )


def test_pdf_from_encoded_images_uses_their_dpi_and_a_failed_page_has_no_text(sample):
    document, images = sample
    png, jpeg = io.BytesIO(), io.BytesIO()
    images[0].save(png, format="PNG", dpi=(150, 150))
    images[1].convert("RGB").save(jpeg, format="JPEG")
    pdf = pdfium.PdfDocument(render_pdf(document, [png.getvalue(), jpeg.getvalue()]))
    assert pdf[0].get_size() == pytest.approx((WIDTH * 72 / 150, HEIGHT * 72 / 150))
    assert pdf[1].get_size() == pytest.approx((WIDTH * 72 / 300, HEIGHT * 72 / 300))
    assert _squeeze(pdf[0].get_textpage().get_text_range()) == _squeeze(document.pages[0].text)
    assert pdf[1].get_textpage().get_text_range().strip() == ""
    # The caller's dpi wins over the image's own.
    pdf = pdfium.PdfDocument(render_pdf(document, [png.getvalue(), None], dpi=72))
    assert pdf[0].get_size() == pytest.approx((WIDTH, HEIGHT))
    assert pdf[1].get_size() == pytest.approx((WIDTH, HEIGHT))  # no image: a blank page of the page's size


def test_pdf_needs_one_image_per_page(sample):
    document, images = sample
    with pytest.raises(ValueError, match="1 page images for 2 pages"):
        render_pdf(document, images[:1])


# --- render() -------------------------------------------------------------------------------------------------


def test_render_dispatches_every_format_with_its_media_type(sample):
    document, images = sample
    assert FORMATS == ("json", "text", "hocr", "alto", "page", "pdf")
    assert set(MEDIA_TYPES) == set(FORMATS)
    for fmt in FORMATS[1:]:
        body, media = render(document, fmt, page_images=images, image_names=["a.png", "b.png"])
        assert media == MEDIA_TYPES[fmt]
        assert body
    assert render(document, "pdf", page_images=images)[0].startswith(b"%PDF-")
    assert render(document, "hocr")[0].startswith(b"<?xml")
    assert b"<alto " in render(document, "alto")[0]
    assert b"<PcGts " in render(document, "page")[0]


def test_render_refuses_unknown_formats_json_and_a_pdf_without_images(sample):
    document, _ = sample
    with pytest.raises(ValueError, match="unknown format"):
        render(document, "docx")
    with pytest.raises(ValueError, match="json"):
        render(document, "json")
    with pytest.raises(ValueError, match="page images"):
        render(document, "pdf")
