"""The document's output formats, and :func:`render` to make any of them from a :class:`Document`.

``json`` is the job result the API already returns; it is listed here so that the API can offer one list
of formats, but it is not rendered here. hOCR is served as ``text/html``: the body is well-formed XHTML
(any XML parser reads it), but hOCR readers and browsers expect HTML, as Tesseract serves it. ALTO and
PAGE XML are ``application/xml`` (neither has a registered media type; the encoding is in the XML
declaration). PAGE XML holds one page per file: :func:`render` gives the page asked for (default: the
first); :func:`documents.export.page_xml.render_page_xml_all` gives every page.
"""

from __future__ import annotations

from collections.abc import Sequence

from documents.export.alto import render_alto
from documents.export.hocr import render_hocr
from documents.export.page_xml import render_page_xml
from documents.export.pdf import PageImage, render_pdf
from documents.export.text import render_text
from documents.model import Document

FORMATS = ("json", "text", "hocr", "alto", "page", "pdf")

MEDIA_TYPES = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "hocr": "text/html; charset=utf-8",
    "alto": "application/xml",
    "page": "application/xml",
    "pdf": "application/pdf",
}

# For a download's file name (Content-Disposition).
FILE_EXTENSIONS = {"json": "json", "text": "txt", "hocr": "hocr", "alto": "xml", "page": "xml", "pdf": "pdf"}


def render(
    document: Document,
    fmt: str,
    page_images: Sequence[PageImage] | None = None,
    image_names: Sequence[str | None] | None = None,
    *,
    page_number: int | None = None,
    dpi: float | None = None,
) -> tuple[bytes, str]:
    """The document in format ``fmt`` as (body, media type).

    ``page_images`` (one per page, in order) are needed for ``pdf`` only; ``image_names`` (one per page)
    name the source images in hOCR, ALTO and PAGE XML; ``page_number`` picks the page of a ``page`` file;
    ``dpi`` overrides the page images' resolution in a ``pdf``.
    Raises ``ValueError`` for an unknown format, for ``json`` (the API renders it), for ``pdf`` without
    page images, or for a ``page_number`` the document does not have.
    """
    if fmt == "text":
        body = render_text(document)
    elif fmt == "hocr":
        body = render_hocr(document, image_names)
    elif fmt == "alto":
        body = render_alto(document, image_names)
    elif fmt == "page":
        body = _page_xml(document, image_names, page_number)
    elif fmt == "pdf":
        if page_images is None:
            raise ValueError("a pdf needs the page images")
        body = render_pdf(document, page_images, dpi=dpi)
    elif fmt == "json":
        raise ValueError("json is the job result itself: the API returns it, it is not rendered here")
    else:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    return body, MEDIA_TYPES[fmt]


def _page_xml(document: Document, image_names: Sequence[str | None] | None, page_number: int | None) -> bytes:
    """One page's PAGE XML, named with that page's image name."""
    index = 0
    if page_number is not None:
        numbers = [page.number for page in document.pages]
        index = numbers.index(page_number) if page_number in numbers else 0
    name = image_names[index] if image_names and index < len(image_names) else None
    return render_page_xml(document, page_number, name)
