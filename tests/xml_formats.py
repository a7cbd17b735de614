"""Validators for the XML outputs, shared by the unit and integration tests: PAGE XML and ALTO against their
official schemas shipped in documents/schemas, hOCR with the hocr-spec validator plus nested boxes."""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import hocr_spec
import xmlschema

SCHEMAS = Path(__file__).resolve().parent.parent / "documents" / "schemas"


@cache
def page_schema() -> xmlschema.XMLSchema:
    """PAGE XML 2019-07-15."""
    return xmlschema.XMLSchema(str(SCHEMAS / "pagecontent-2019-07-15.xsd"))


@cache
def alto_schema() -> xmlschema.XMLSchema:
    """ALTO 4.3; its XLink import (the Library of Congress' site) is pointed at the copy shipped beside it."""
    xlink = ("http://www.w3.org/1999/xlink", str(SCHEMAS / "xlink-mets.xsd"))
    return xmlschema.XMLSchema(str(SCHEMAS / "alto-4-3.xsd"), locations=[xlink])


def validate_page_xml(body: bytes) -> None:
    """Raise unless ``body`` is valid PAGE XML."""
    page_schema().validate(ET.fromstring(body))


def validate_alto(body: bytes) -> None:
    """Raise unless ``body`` is valid ALTO."""
    alto_schema().validate(ET.fromstring(body))


def validate_hocr(body: bytes) -> None:
    """Raise unless ``body`` passes hocr-spec and every ocr_* element's box is inside its parent's."""
    with tempfile.NamedTemporaryFile(suffix=".hocr") as handle:
        handle.write(body)
        handle.flush()
        report = hocr_spec.HocrValidator("standard").validate(handle.name)
    assert report.is_valid(), report.format("text")
    check_nested(ET.fromstring(body), None)


def bbox(element: ET.Element) -> tuple[int, int, int, int]:
    """The bbox property of an hOCR element."""
    for part in (element.get("title") or "").split(";"):
        key, _, value = part.strip().partition(" ")
        if key == "bbox":
            left, top, right, bottom = (int(v) for v in value.split())
            return (left, top, right, bottom)
    raise AssertionError(f"no bbox on {element.get('id')}")


def check_nested(element: ET.Element, outer: tuple[int, int, int, int] | None) -> None:
    """Every ocr_* element has a bbox, inside that of the ocr_* element it is in."""
    box = outer
    if (element.get("class") or "").startswith("ocr"):
        box = bbox(element)
        assert box[0] <= box[2] and box[1] <= box[3]
        if outer is not None:
            inside = outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3]
            assert inside, (element.get("id"), box, outer)
    for child in element:
        check_nested(child, box)
