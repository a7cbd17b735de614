"""ALTO 4.3 (namespace ``http://www.loc.gov/standards/alto/ns-v4#``), valid against the official schema.

One ``Layout/Page`` per page (``PHYSICAL_IMG_NR`` counts from 1) with a ``PrintSpace`` covering the page,
one ``TextBlock`` per block, ``TextLine`` per line and ``String`` per word (``WC`` in [0, 1]), ``SP``
between strings. Coordinates are the model's pixels (``MeasurementUnit`` pixel). A word the engines did
not locate gets its share of the line's box (see :mod:`documents.export.layout`); a line without any
text is left out (an ALTO ``TextLine`` needs a ``String``); a page that failed has an empty ``PrintSpace``.
Processing is described with ALTO 4's ``Processing`` (``OCRProcessing`` is deprecated in the schema).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from documents.export.layout import PlacedWord, clamp_confidence, placed_words, utc_timestamp, xml_text
from documents.model import Block, Box, Document, Line, Page

ALTO_NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA_VERSION = "4.3"
SCHEMA_LOCATION = "http://www.loc.gov/standards/alto/v4/alto-4-3.xsd"
SOFTWARE = "ocr-server"
_PROCESSING_ID = "processing_1"


def render_alto(
    document: Document, image_names: Sequence[str | None] | None = None, created: datetime | None = None
) -> bytes:
    """The document as one ALTO file (UTF-8) with a ``Page`` per page.

    ``image_names`` (one per page): a single distinct name is the ``sourceImageInformation/fileName``
    (one image, or one TIFF/PDF named for every page); several distinct names are listed as one
    ``fileIdentifier`` per page in page order. ``created`` (default: now, UTC) is the processing time.
    """
    root = ET.Element(
        "alto",
        {
            "xmlns": ALTO_NAMESPACE,
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:schemaLocation": f"{ALTO_NAMESPACE} {SCHEMA_LOCATION}",
            "SCHEMAVERSION": SCHEMA_VERSION,
        },
    )
    root.append(_description(document, image_names, created or datetime.now(UTC)))
    layout = ET.SubElement(root, "Layout")
    for page in document.pages:
        layout.append(_page(page))
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


def _description(document: Document, image_names: Sequence[str | None] | None, created: datetime) -> ET.Element:
    description = ET.Element("Description")
    ET.SubElement(description, "MeasurementUnit").text = "pixel"
    names = [xml_text(name) for name in image_names or () if name]
    if names:
        source = ET.SubElement(description, "sourceImageInformation")
        if len(set(names)) == 1:
            ET.SubElement(source, "fileName").text = names[0]
        else:
            for name in names:
                ET.SubElement(source, "fileIdentifier").text = name
    processing = ET.SubElement(description, "Processing", {"ID": _PROCESSING_ID})
    ET.SubElement(processing, "processingCategory").text = "contentGeneration"
    ET.SubElement(processing, "processingDateTime").text = utc_timestamp(created)
    if document.engines:
        ET.SubElement(processing, "processingStepSettings").text = "engines: " + ", ".join(document.engines)
    software = ET.SubElement(processing, "processingSoftware")
    ET.SubElement(software, "softwareName").text = SOFTWARE
    return description


def _page(page: Page) -> ET.Element:
    key = f"p{page.number}"
    element = ET.Element(
        "Page",
        {
            "ID": key,
            "PHYSICAL_IMG_NR": str(page.number),
            "WIDTH": str(page.width),
            "HEIGHT": str(page.height),
            "PROCESSING": _PROCESSING_ID,
        },
    )
    space = ET.SubElement(element, "PrintSpace", {"ID": f"{key}_ps", **_position((0, 0, page.width, page.height))})
    for number, block in enumerate(page.blocks, start=1):
        space.append(_block(block, f"{key}_b{number}"))
    return element


def _block(block: Block, key: str) -> ET.Element:
    element = ET.Element("TextBlock", {"ID": key, **_position(block.box)})
    for number, line in enumerate(block.lines, start=1):
        words = placed_words(line)
        if words:
            element.append(_line(line, words, f"{key}_l{number}"))
    return element


def _line(line: Line, words: Sequence[PlacedWord], key: str) -> ET.Element:
    element = ET.Element("TextLine", {"ID": key, **_position(line.box)})
    for number, word in enumerate(words, start=1):
        if number > 1:
            element.append(_space(words[number - 2].box, word.box))
        attributes = {
            "ID": f"{key}_w{number}",
            **_position(word.box),
            "CONTENT": xml_text(word.text),
            "WC": f"{clamp_confidence(word.confidence):.3f}",
        }
        ET.SubElement(element, "String", attributes)
    return element


def _space(before: Box, after: Box) -> ET.Element:
    """The ``SP`` between two strings, placed in the gap between them when there is one."""
    gap = after[0] - before[2]
    if gap <= 0:
        return ET.Element("SP")
    return ET.Element("SP", {"WIDTH": str(gap), "HPOS": str(before[2]), "VPOS": str(min(before[1], after[1]))})


def _position(box: Box) -> dict[str, str]:
    left, top, right, bottom = box
    return {"HPOS": str(left), "VPOS": str(top), "WIDTH": str(right - left), "HEIGHT": str(bottom - top)}
