"""PAGE XML 2019-07-15 (PRImA), valid against the official schema: one ``PcGts`` per page, as PAGE has it.

``Page`` carries the image's name and size, ``ReadingOrder`` one ``OrderedGroup`` referring to the text
regions in block order, then one ``TextRegion`` per block, ``TextLine`` per line and ``Word`` per word,
each with rectangular ``Coords`` from the model's boxes and its text in ``TextEquiv/Unicode`` (``conf`` in
[0, 1] on lines and words). A word the engines did not locate gets its share of the line's box (see
:mod:`documents.export.layout`). A page that failed has no regions; its error is in ``Metadata/Comments``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from documents.export.layout import PlacedWord, clamp_confidence, placed_words, utc_timestamp, xml_text
from documents.model import Block, Box, Document, Line, Page

PAGE_NAMESPACE = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
SCHEMA_LOCATION = f"{PAGE_NAMESPACE}/pagecontent.xsd"
CREATOR = "ocr-server"


def render_page_xml(
    document: Document,
    page_number: int | None = None,
    image_name: str | None = None,
    created: datetime | None = None,
) -> bytes:
    """One page of the document as a PAGE XML file (UTF-8).

    ``page_number`` is the page's ``Page.number`` (default: the first page); ``image_name`` becomes
    ``imageFilename`` (the schema requires the attribute: it is empty when no name is given); ``created``
    (default: now) is written, in UTC, as both ``Created`` and ``LastChange``. Raises ``ValueError`` for a
    document without pages or a number that is not one of its pages.
    """
    if not document.pages:
        raise ValueError("the document has no pages")
    if page_number is None:
        page = document.pages[0]
    else:
        found = [page for page in document.pages if page.number == page_number]
        if not found:
            raise ValueError(f"the document has no page {page_number}")
        page = found[0]
    return _render(document, page, image_name, created or datetime.now(UTC))


def render_page_xml_all(
    document: Document, image_names: Sequence[str | None] | None = None, created: datetime | None = None
) -> list[bytes]:
    """Every page of the document as its own PAGE XML file, in page order (``image_names`` one per page)."""
    moment = created or datetime.now(UTC)
    return [
        _render(document, page, image_names[index] if image_names and index < len(image_names) else None, moment)
        for index, page in enumerate(document.pages)
    ]


def _render(document: Document, page: Page, image_name: str | None, created: datetime) -> bytes:
    root = ET.Element(
        "PcGts",
        {
            "xmlns": PAGE_NAMESPACE,
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:schemaLocation": f"{PAGE_NAMESPACE} {SCHEMA_LOCATION}",
            "pcGtsId": f"pc_page_{page.number}",
        },
    )
    root.append(_metadata(document, page, created))
    root.append(_page(page, image_name))
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def _metadata(document: Document, page: Page, created: datetime) -> ET.Element:
    metadata = ET.Element("Metadata")
    ET.SubElement(metadata, "Creator").text = CREATOR
    stamp = utc_timestamp(created)
    ET.SubElement(metadata, "Created").text = stamp
    ET.SubElement(metadata, "LastChange").text = stamp
    comments = []
    if document.engines:
        comments.append("engines: " + ", ".join(document.engines))
    if page.error:
        comments.append(f"page {page.number} could not be read: {page.error}")
    if comments:
        ET.SubElement(metadata, "Comments").text = xml_text("\n".join(comments))
    return metadata


def _page(page: Page, image_name: str | None) -> ET.Element:
    element = ET.Element(
        "Page",
        {"imageFilename": xml_text(image_name or ""), "imageWidth": str(page.width), "imageHeight": str(page.height)},
    )
    # A region id is unique in its file; the page number in it keeps ids apart when pages are merged.
    keys = [f"p{page.number}_r{number}" for number in range(1, len(page.blocks) + 1)]
    if keys:
        order = ET.SubElement(element, "ReadingOrder")
        group = ET.SubElement(order, "OrderedGroup", {"id": f"p{page.number}_ro"})
        for index, key in enumerate(keys):
            ET.SubElement(group, "RegionRefIndexed", {"index": str(index), "regionRef": key})
    for key, block in zip(keys, page.blocks, strict=True):
        element.append(_region(block, key))
    return element


def _region(block: Block, key: str) -> ET.Element:
    region = ET.Element("TextRegion", {"id": key, "type": "paragraph"})
    region.append(_coords(block.box))
    texts = []
    for number, line in enumerate(block.lines, start=1):
        region.append(_line(line, placed_words(line), f"{key}_l{number}"))
        texts.append(line.text)
    region.append(_text_equiv("\n".join(texts), None))
    return region


def _line(line: Line, words: Sequence[PlacedWord], key: str) -> ET.Element:
    element = ET.Element("TextLine", {"id": key})
    element.append(_coords(line.box))
    for number, word in enumerate(words, start=1):
        word_element = ET.SubElement(element, "Word", {"id": f"{key}_w{number}"})
        word_element.append(_coords(word.box))
        word_element.append(_text_equiv(word.text, word.confidence))
    element.append(_text_equiv(line.text, line.confidence))
    return element


def _coords(box: Box) -> ET.Element:
    # PAGE points are non-negative pixel positions; a box is its four corners, clockwise from top left.
    left, top, right, bottom = (max(0, value) for value in box)
    points = f"{left},{top} {right},{top} {right},{bottom} {left},{bottom}"
    return ET.Element("Coords", {"points": points})


def _text_equiv(text: str, confidence: float | None) -> ET.Element:
    attributes = {} if confidence is None else {"conf": f"{clamp_confidence(confidence):.3f}"}
    equiv = ET.Element("TextEquiv", attributes)
    ET.SubElement(equiv, "Unicode").text = xml_text(text)
    return equiv
