"""Documents in: a PDF or a multi-page TIFF becomes one image per page, each read as a page job.

PDF pages are rendered with PDFium (pypdfium2) at ``OCR_PDF_DPI``, lowered for a page so large that it
would pass the pixel limit. A page that cannot be rendered or decoded is that page's own error: the
other pages are still read.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

import pypdfium2 as pdfium
from PIL import Image, TiffImagePlugin

from jobs.errors import InvalidDocument
from jobs.images import DECODE_ERRORS
from jobs.pdf_text import Box, page_lines

PDF_MAGIC = b"%PDF-"
POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class DocumentPages:
    """A document split into pages: each page's PNG, or the error that page alone fails with; and, when
    asked for, each PDF page's text layer (lines with their boxes on the PNG; None: none to reuse)."""

    source_format: str
    pages: list[bytes | InvalidDocument]
    texts: list[list[tuple[Box, str]] | None] = field(default_factory=list)


# An image that merely mentions "%PDF-" near its start (in a text chunk) is still that image.
TIFF_SIGNATURES = tuple(TiffImagePlugin.PREFIXES)  # what Pillow itself accepts as a TIFF
IMAGE_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM", b"RIFF")


def is_pdf(data: bytes) -> bool:
    """True for a PDF (the header may follow up to 1 KiB of other bytes, as readers allow)."""
    return PDF_MAGIC in data[:1024] and not data.startswith(IMAGE_SIGNATURES)


def is_document(data: bytes) -> bool:
    """True for a PDF or a TIFF of more than one page (cheap: only headers are read)."""
    return is_pdf(data) or _tiff_frame_count(data) > 1


def split_document(
    data: bytes, max_pages: int, dpi: int, max_pixels: int, with_text: bool = False
) -> DocumentPages | None:
    """The pages of a PDF or a multi-page TIFF, or None when ``data`` is one image; ``with_text``: also
    each PDF page's text layer, to be used instead of recognition.

    Raises :class:`InvalidDocument`: 413 with more than ``max_pages`` pages, 422 when the file itself is unreadable.
    """
    if is_pdf(data):
        rendered = _pdf_pages(data, max_pages, dpi, max_pixels, with_text)
        return DocumentPages("PDF", [page for page, _ in rendered], [text for _, text in rendered])
    frames = _tiff_frame_count(data)
    if frames > 1:
        _check_count(frames, max_pages)
        return DocumentPages("TIFF", [_tiff_page(data, index, max_pixels) for index in range(frames)])
    return None


def _check_count(pages: int, max_pages: int) -> None:
    if pages > max_pages:
        raise InvalidDocument(413, "too_many_pages", f"the document has {pages} pages; the limit is {max_pages}")
    if pages < 1:
        raise InvalidDocument(422, "empty_document", "the document has no pages")


Rendered = tuple[bytes | InvalidDocument, list[tuple[Box, str]] | None]


def _pdf_pages(data: bytes, max_pages: int, dpi: int, max_pixels: int, with_text: bool) -> list[Rendered]:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise InvalidDocument(422, "corrupt_document", f"the PDF cannot be read: {str(exc)[:200]}") from exc
    try:
        _check_count(len(pdf), max_pages)
        return [_pdf_page(pdf, index, dpi, max_pixels, with_text) for index in range(len(pdf))]
    finally:
        pdf.close()


def _pdf_page(pdf: pdfium.PdfDocument, index: int, dpi: int, max_pixels: int, with_text: bool) -> Rendered:
    try:
        page = pdf[index]
        try:
            width, height = page.get_size()
            if not (width > 0 and height > 0):
                return InvalidDocument(
                    422, "corrupt_page", f"page {index + 1} has no area ({width}x{height} points)"
                ), None
            scale = _render_scale(width, height, dpi, max_pixels)
            bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255))
            text = page_lines(page, scale) if with_text else None
            return _png(bitmap.to_pil()), text or None
        finally:
            page.close()
    except (pdfium.PdfiumError, OSError, ValueError) as exc:
        return InvalidDocument(422, "corrupt_page", f"page {index + 1} cannot be rendered: {str(exc)[:200]}"), None


def _render_scale(width_pt: float, height_pt: float, dpi: int, max_pixels: int) -> float:
    """Points to pixels at ``dpi``, lowered so the page stays within the pixel limit."""
    scale = dpi / POINTS_PER_INCH
    pixels = width_pt * height_pt * scale * scale
    if pixels > max_pixels:
        scale *= (max_pixels / pixels) ** 0.5 * 0.999
    return scale


# What opening a hostile TIFF to count its frames may raise.
TIFF_COUNT_ERRORS: tuple[type[BaseException], ...] = (*DECODE_ERRORS, Image.DecompressionBombError)


def _tiff_frame_count(data: bytes) -> int:
    """How many frames a TIFF holds (1 for anything else; validation reports other problems later)."""
    if not data.startswith(TIFF_SIGNATURES):  # only a TIFF is opened (this runs on every upload)
        return 1
    try:
        with Image.open(io.BytesIO(data)) as image:
            return int(getattr(image, "n_frames", 1)) if image.format == "TIFF" else 1
    except TIFF_COUNT_ERRORS:  # Pillow raises more than OSError (fuzzing)
        return 1


def _tiff_page(data: bytes, index: int, max_pixels: int) -> bytes | InvalidDocument:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.seek(index)
                width, height = image.size
                if width * height > max_pixels:
                    return InvalidDocument(
                        413,
                        "too_many_pixels",
                        f"page {index + 1} has {width * height} pixels; the limit is {max_pixels}",
                    )
                image.load()
                return _png(image.copy())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return InvalidDocument(
            413, "too_many_pixels", f"page {index + 1} has too many pixels; the limit is {max_pixels}"
        )
    except DECODE_ERRORS as exc:
        return InvalidDocument(422, "corrupt_page", f"page {index + 1} cannot be decoded: {str(exc)[:200]}")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # Lossless and quick; the page is validated and normalised again like any upload.
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
