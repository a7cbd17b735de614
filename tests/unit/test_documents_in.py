"""Documents in: PDF and multi-page TIFF split into pages; limits; a corrupt page fails alone."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from jobs.document_files import is_document, split_document
from jobs.errors import InvalidDocument

LIMIT = 40_000_000


def _page(number: int, size: tuple[int, int] = (850, 1100)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((100, 100 + 40 * number), f"page {number}", fill="black")
    return image


def _pdf(pages: int) -> bytes:
    buffer = io.BytesIO()
    images = [_page(n) for n in range(1, pages + 1)]
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=100)
    return buffer.getvalue()


def _tiff(pages: int, compression: str = "tiff_deflate") -> bytes:
    buffer = io.BytesIO()
    images = [_page(n).convert("L") for n in range(1, pages + 1)]
    images[0].save(buffer, format="TIFF", save_all=True, append_images=images[1:], compression=compression)
    return buffer.getvalue()


def _corrupt_frame(data: bytes, frame: int) -> bytes:
    """Overwrite the compressed strips of one frame with garbage."""
    with Image.open(io.BytesIO(data)) as image:
        image.seek(frame)
        offsets, counts = image.tag_v2[273], image.tag_v2[279]
    broken = bytearray(data)
    for offset, count in zip(offsets, counts, strict=True):
        broken[offset : offset + count] = bytes([0x55]) * count
    return bytes(broken)


def _decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def test_a_three_page_pdf_gives_three_rendered_pages_at_the_dpi() -> None:
    document = split_document(_pdf(3), max_pages=10, dpi=200, max_pixels=LIMIT)
    assert document is not None and document.source_format == "PDF"
    assert len(document.pages) == 3
    pages = [_decoded(page) for page in document.pages if isinstance(page, bytes)]
    assert len(pages) == 3
    # 850x1100 px saved at 100 dpi is 8.5x11 in; rendered at 200 dpi: 1700x2200.
    assert all(abs(page.shape[1] - 1700) <= 2 and abs(page.shape[0] - 2200) <= 2 for page in pages)
    assert all(page.min() < 100 for page in pages)  # the text was rendered
    assert not np.array_equal(pages[0], pages[1])


def test_a_three_page_tiff_gives_three_pages_and_a_single_image_is_not_a_document() -> None:
    document = split_document(_tiff(3), max_pages=10, dpi=200, max_pixels=LIMIT)
    assert document is not None and document.source_format == "TIFF" and len(document.pages) == 3
    assert is_document(_tiff(3)) and is_document(_pdf(1))
    single = io.BytesIO()
    _page(1).save(single, format="PNG")
    assert split_document(single.getvalue(), 10, 200, LIMIT) is None and not is_document(single.getvalue())
    assert split_document(_tiff(1), 10, 200, LIMIT) is None


def test_a_corrupt_tiff_page_fails_alone() -> None:
    document = split_document(_corrupt_frame(_tiff(3), 1), max_pages=10, dpi=200, max_pixels=LIMIT)
    assert document is not None
    first, second, third = document.pages
    assert isinstance(first, bytes) and isinstance(third, bytes)
    assert isinstance(second, InvalidDocument) and second.status_code == 422 and "page 2" in second.message


def test_too_many_pages_is_413_and_an_unreadable_pdf_is_422() -> None:
    with pytest.raises(InvalidDocument) as caught:
        split_document(_pdf(3), max_pages=2, dpi=200, max_pixels=LIMIT)
    assert caught.value.status_code == 413 and caught.value.code == "too_many_pages"
    with pytest.raises(InvalidDocument) as caught:
        split_document(b"%PDF-1.7\n garbage that is no PDF", max_pages=2, dpi=200, max_pixels=LIMIT)
    assert caught.value.status_code == 422 and caught.value.code == "corrupt_document"


def test_a_huge_pdf_page_is_rendered_within_the_pixel_limit() -> None:
    document = split_document(_pdf(1), max_pages=2, dpi=600, max_pixels=1_000_000)
    assert document is not None and isinstance(document.pages[0], bytes)
    page = _decoded(document.pages[0])
    assert page.shape[0] * page.shape[1] <= 1_000_000


def _digital_pdf(rotate: int = 0) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(612, 792))
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.text(72, 100, "Left words")
    pdf.text(300, 100, "same line")
    pdf.text(72, 140, "Next line")
    data = bytes(pdf.output())
    if rotate:
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data)
        document[0].set_rotation(rotate)
        buffer = io.BytesIO()
        document.save(buffer)
        data = buffer.getvalue()
    return data


def test_a_pdf_text_layer_comes_as_lines_with_boxes_on_the_rendered_page() -> None:
    document = split_document(_digital_pdf(), max_pages=2, dpi=144, max_pixels=LIMIT, with_text=True)
    assert document is not None and document.texts[0] is not None
    lines = sorted(document.texts[0], key=lambda line: line[0][1])
    assert [text for _, text in lines] == ["Left words same line", "Next line"]
    (left, top, right, bottom), _ = lines[0]
    assert abs(left - 144) <= 4 and abs(bottom - 200) <= 6 and right > 600 and top < bottom  # points x 2
    assert split_document(_digital_pdf(), 2, 144, LIMIT).texts == [None]  # not asked for


def test_a_rotated_page_or_a_scan_has_no_text_layer_to_reuse() -> None:
    assert split_document(_digital_pdf(rotate=90), 2, 144, LIMIT, with_text=True).texts == [None]
    assert split_document(_pdf(1), 2, 144, LIMIT, with_text=True).texts == [None]
