"""hOCR 1.2: the document as XHTML with its layout in ``class`` and ``title`` attributes.

One ``div.ocr_page`` per page, holding for each block a ``div.ocr_carea`` with one ``p.ocr_par`` (the model
has no paragraphs; the ``p`` is there as Tesseract writes it, so that a browser breaks the text into
blocks and tools written against Tesseract's hOCR find the level they expect), one ``span.ocr_line`` per
line and one ``span.ocrx_word`` per word with its ``bbox`` and ``x_wconf`` (0-100). A word the engines did
not locate gets its share of the line's box (see :mod:`documents.export.layout`). A page that failed is an
empty ``ocr_page``. The body is well-formed XML (parsed by any XML parser) served as HTML, like Tesseract's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from documents.export.layout import PlacedWord, clamp_confidence, placed_words, xml_text
from documents.model import Block, Box, Document, Line, Page

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"
SYSTEM = "ocr-server"

_PROLOGUE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
)


def render_hocr(document: Document, image_names: Sequence[str | None] | None = None) -> bytes:
    """The document as hOCR (UTF-8 XHTML); ``image_names`` (one per page) become each page's ``image``."""
    html = ET.Element("html", {"xmlns": XHTML_NAMESPACE, "xml:lang": "en", "lang": "en"})
    html.append(_head(document))
    body = ET.SubElement(html, "body")
    for index, page in enumerate(document.pages):
        name = image_names[index] if image_names and index < len(image_names) else None
        body.append(_page(page, index, name))
    ET.indent(html)
    # Served as HTML, an empty non-void element written as <div/> would stay open: write every element
    # out in full, and only the void <meta> in the short form (an HTML parser ignores the slash).
    markup = ET.tostring(html, encoding="unicode", short_empty_elements=False).replace("></meta>", " />")
    return (_PROLOGUE + markup + "\n").encode("utf-8")


def _head(document: Document) -> ET.Element:
    head = ET.Element("head")
    ET.SubElement(head, "title").text = "OCR"
    ET.SubElement(head, "meta", {"http-equiv": "Content-Type", "content": "text/html; charset=utf-8"})
    ET.SubElement(head, "meta", {"name": "ocr-system", "content": SYSTEM})
    ET.SubElement(head, "meta", {"name": "ocr-capabilities", "content": CAPABILITIES})
    ET.SubElement(head, "meta", {"name": "ocr-number-of-pages", "content": str(len(document.pages))})
    # The engines that voted are not named: hOCR has no metadata field for them (an unknown one is an error).
    return head


def _page(page: Page, index: int, image_name: str | None) -> ET.Element:
    # ppageno is the physical page number counted from 0, as the hOCR spec and Tesseract have it.
    properties = [f"bbox 0 0 {page.width} {page.height}", f"ppageno {index}"]
    if image_name:
        properties.insert(0, f"image {_quoted(image_name)}")
    element = ET.Element("div", {"class": "ocr_page", "id": f"page_{page.number}", "title": "; ".join(properties)})
    for number, block in enumerate(page.blocks, start=1):
        element.append(_block(block, f"{page.number}_{number}"))
    return element


def _block(block: Block, key: str) -> ET.Element:
    area = ET.Element("div", {"class": "ocr_carea", "id": f"block_{key}", "title": _bbox(block.box)})
    paragraph = ET.SubElement(area, "p", {"class": "ocr_par", "id": f"par_{key}", "title": _bbox(block.box)})
    for number, line in enumerate(block.lines, start=1):
        words = placed_words(line)
        if words:
            paragraph.append(_line(line, words, f"{key}_{number}"))
    return area


def _line(line: Line, words: Sequence[PlacedWord], key: str) -> ET.Element:
    element = ET.Element("span", {"class": "ocr_line", "id": f"line_{key}", "title": _bbox(line.box)})
    for number, word in enumerate(words, start=1):
        title = f"{_bbox(word.box)}; x_wconf {round(clamp_confidence(word.confidence) * 100)}"
        span = ET.SubElement(element, "span", {"class": "ocrx_word", "id": f"word_{key}_{number}", "title": title})
        span.text = xml_text(word.text)
    return element


def _bbox(box: Box) -> str:
    left, top, right, bottom = box
    return f"bbox {left} {top} {right} {bottom}"


def _quoted(value: str) -> str:
    """An hOCR property string: in double quotes, with backslash and double quote escaped by a backslash."""
    escaped = xml_text(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
