"""A searchable PDF: each page's original image, under an invisible text layer at the model's boxes.

Every page is its image drawn over the whole page, the page's size being the image's at its resolution
(the ``dpi`` given, else the image's own DPI, else 300). Over it, in text render mode 3 (invisible), each
located word is written at its box: the font size makes the font's ascent-to-descent height the box's
height, and horizontal scaling (``Tz``) makes the word exactly as wide as the box, so that selecting text
in a viewer highlights the word on the image. A space follows every word but the line's last, so that
copied and extracted text keeps its word breaks. A line whose words were not all located is written as
one run over the line's box instead (an estimated word box would only pretend to more precision). Lines
and words go in reading order, so text extraction gives the document's text. A page that failed gets its
image and no text, or a blank page of its size when it has no image.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TextMode
from fpdf.fonts import TTFFont
from PIL import Image, ImageOps

from documents.export.layout import xml_text
from documents.model import Box, Document, Line, Page

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEFAULT_DPI = 300.0
CREATOR = "ocr-server"
_FONT_NAME = "ocrtext"
_A4_POINTS = (595.28, 841.89)
# An image's own DPI below this is taken for a missing value (some writers store 1 or 0), not a resolution.
_LOWEST_DPI = 20.0
_EXIF_ORIENTATION = 0x0112

PageImage = Image.Image | bytes | None


def render_pdf(
    document: Document,
    page_images: Sequence[PageImage],
    dpi: float | None = None,
    font_path: str | Path = DEFAULT_FONT,
) -> bytes:
    """The document as a searchable PDF; ``page_images`` holds one image per page, in page order.

    Each image is a PIL image or the encoded image file's bytes (kept as they are where the PDF can hold
    them, as a JPEG is), or None for a page to be drawn blank. ``dpi`` overrides every image's own
    resolution; ``font_path`` is the TrueType font of the text layer (it must cover the text's characters
    for copying to give them back). Raises ``ValueError`` when the images do not match the pages.
    """
    if len(page_images) != len(document.pages):
        raise ValueError(f"{len(page_images)} page images for {len(document.pages)} pages")
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_creator(CREATOR)
    pdf.add_font(_FONT_NAME, "", str(font_path))
    pdf.set_font(_FONT_NAME, size=10)
    metrics = _font_metrics(pdf)
    for page, image in zip(document.pages, page_images, strict=True):
        _add_page(pdf, page, image, dpi, metrics)
    return bytes(pdf.output())


def _add_page(pdf: FPDF, page: Page, image: PageImage, dpi: float | None, metrics: tuple[float, float]) -> None:
    picture, as_given = _open(image)
    size = picture.size if picture is not None else (page.width, page.height)
    resolution = _resolution(picture, dpi)
    if size[0] > 0 and size[1] > 0:
        width, height = size[0] * 72.0 / resolution[0], size[1] * 72.0 / resolution[1]
    else:
        width, height = _A4_POINTS
    pdf.add_page(format=(width, height))
    if picture is not None:
        # Bytes go in as they are, so that fpdf2 embeds a JPEG without decoding and re-encoding it, unless
        # the file had to be turned upright first.
        source = io.BytesIO(image) if isinstance(image, bytes) and as_given else picture
        pdf.image(source, x=0, y=0, w=width, h=height)
    if page.error or not page.blocks:
        return
    # The model's boxes are in the page's pixels; the page's size in the model is the image's.
    scale = (width / (page.width or size[0] or 1), height / (page.height or size[1] or 1))
    pdf.text_mode = TextMode.INVISIBLE
    for line in page.lines:
        _write_line(pdf, line, scale, metrics)


def _open(image: PageImage) -> tuple[Image.Image | None, bool]:
    """The page image upright as the server read it (EXIF orientation applied), and whether it was already."""
    if image is None:
        return None, False
    picture = Image.open(io.BytesIO(image)) if isinstance(image, bytes) else image
    if picture.getexif().get(_EXIF_ORIENTATION, 1) in (0, 1):
        return picture, True
    return ImageOps.exif_transpose(picture), False


def _resolution(picture: Image.Image | None, dpi: float | None) -> tuple[float, float]:
    if dpi is not None:
        if dpi <= 0:
            raise ValueError(f"dpi must be positive, not {dpi}")
        return (float(dpi), float(dpi))
    found = picture.info.get("dpi") if picture is not None else None
    try:
        x, y = (float(value) for value in found) if found else (0.0, 0.0)
    except (TypeError, ValueError):
        x, y = 0.0, 0.0
    if x >= _LOWEST_DPI and y >= _LOWEST_DPI:
        return (_whole(x), _whole(y))
    return (DEFAULT_DPI, DEFAULT_DPI)


def _whole(dpi: float) -> float:
    """A PNG stores pixels per metre, so 150 DPI reads back as 149.99: near a whole number, take that number."""
    nearest = round(dpi)
    return float(nearest) if abs(dpi - nearest) < 0.1 else dpi


def _write_line(pdf: FPDF, line: Line, scale: tuple[float, float], metrics: tuple[float, float]) -> None:
    # xml_text drops control characters: the font has no glyph for them and copying them helps nobody.
    words = [word for word in line.words if word.text]
    if words and all(word.box is not None for word in words) and [w.text for w in words] == line.text.split():
        for index, word in enumerate(words):
            assert word.box is not None  # checked above; for the type checker
            _write(pdf, xml_text(word.text), word.box, scale, metrics, trailing_space=index < len(words) - 1)
    elif line.text.strip():
        _write(pdf, xml_text(" ".join(line.text.split())), line.box, scale, metrics, trailing_space=False)


def _write(
    pdf: FPDF, text: str, box: Box, scale: tuple[float, float], metrics: tuple[float, float], trailing_space: bool
) -> None:
    """``text`` invisible at ``box`` (page pixels): its ascent-to-descent height and its width the box's."""
    if not text:
        return
    left, top, right, bottom = box
    width, height = (right - left) * scale[0], (bottom - top) * scale[1]
    ascent, descent = metrics
    size = max(height / (ascent - descent), 1.0)
    pdf.set_font(_FONT_NAME, size=size)
    pdf.set_stretching(100)
    natural = pdf.get_string_width(text)
    # Tz scales every glyph, the following space too: the word fills its box and the space starts after it.
    pdf.set_stretching(100.0 * width / natural if width > 0 and natural > 0 else 100.0)
    pdf.text(left * scale[0], top * scale[1] + ascent * size, text + (" " if trailing_space else ""))


def _font_metrics(pdf: FPDF) -> tuple[float, float]:
    """The current font's ascent and descent (negative) per unit of font size."""
    font = pdf.current_font
    if isinstance(font, TTFFont):
        return font.desc.ascent / 1000.0, font.desc.descent / 1000.0
    return 0.8, -0.2  # not reached: add_font always loads a TrueType font
