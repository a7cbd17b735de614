"""A corpus of hostile inputs, built in memory: files (bombs, truncations, polyglots, wrong types, odd but
valid images, hostile PDFs and TIFFs) and whole requests (oversized fields, bad base64, weird file names,
huge or deep JSON, wrong content types, numeric edge cases, unknown options, duplicated fields, malformed
HTTP).

``files()`` is also the seed corpus of the fuzz target (``tests/fuzz/fuzz_images.py``); ``requests_corpus()``
is sent to the real gunicorn by ``tests/integration/test_hostile.py``. Every request names what it must get:
``expect`` is a set of error codes (a 4xx with that code), or ``{OK}`` for an input that is valid but odd
(it must then be accepted and, where ``wait`` says so, its job must succeed).
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

OK = "ok"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
MEGABYTE = 1024 * 1024
# Enough to read a line with the one engine the test service runs for sure (form fields; JSON options).
TESSERACT = {"engines": "tesseract", "mode": "line"}
TESSERACT_JSON = {"engines": ["tesseract"], "mode": "line"}


# --- building blocks ------------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    """``image`` written by Pillow in ``fmt``."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def text_image(text: str = "Hello 42", size: int = 32) -> Image.Image:
    """Black text on white, cropped close: a line tesseract reads."""
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 16, bottom - top + 16), 255)
    ImageDraw.Draw(image).text((8 - left, 8 - top), text, font=font, fill=0)
    return image


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_claiming(width: int, height: int, idat: bytes | None = None, depth: int = 8, colour: int = 0) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (the pixel data is ``idat``, by default 10 bytes)."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    data = idat if idat is not None else zlib.compress(b"\0" * 10)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def png_zlib_bomb(side: int = 7000) -> bytes:
    """A real, complete PNG of ``side`` x ``side`` white pixels: ~50 KB that inflate to ``side``**2 bytes."""
    row = b"\0" + b"\xff" * side
    compressor = zlib.compressobj(9)
    chunks = [compressor.compress(row) for _ in range(side)]
    return png_claiming(side, side, b"".join(chunks) + compressor.flush())


def gif_claiming(width: int, height: int) -> bytes:
    """A GIF whose screen and only frame claim ``width`` x ``height`` with one byte of LZW data."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b";"


def tiff_claiming(width: int, height: int) -> bytes:
    """A little-endian TIFF whose one IFD claims ``width`` x ``height`` 8-bit gray with a 10-byte strip."""
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: min-is-black
        (273, 4, 1, 8 + 2 + 12 * 8 + 4),  # StripOffsets: right after the IFD
        (277, 3, 1, 1),  # SamplesPerPixel
        (279, 4, 1, 10),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\0" * 10


def tiff_second_ifd_without_size() -> bytes:
    """A 4x4 TIFF whose next-IFD pointer leads to an IFD without ImageWidth/ImageLength (Pillow raises
    TypeError when it counts the frames: found by the fuzz target)."""
    entries = [(256, 4, 1, 4), (257, 4, 1, 4), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (277, 3, 1, 1)]
    entries += [(279, 4, 1, 16)]
    first_at = 8
    second_at = first_at + 2 + 12 * (len(entries) + 1) + 4
    second = struct.pack("<H", 1) + struct.pack("<HHII", 259, 3, 1, 1) + struct.pack("<I", 0)
    entries.append((273, 4, 1, second_at + len(second)))  # StripOffsets: after the second IFD
    entries.sort()
    first = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *entry) for entry in entries)
    return b"II*\0" + struct.pack("<I", first_at) + first + struct.pack("<I", second_at) + second + b"\x80" * 16


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG with its SOF0 frame header patched to ``width`` x ``height``."""
    data = bytearray(encode(Image.new("L", (16, 16), 128), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def bmp_claiming(width: int, height: int) -> bytes:
    """A small real BMP with its info header patched to ``width`` x ``height``."""
    data = bytearray(encode(Image.new("L", (4, 4), 128), "BMP"))
    struct.pack_into("<ii", data, 18, width, height)
    return bytes(data)


def webp_claiming(width: int, height: int) -> bytes:
    """A lossless WebP (VP8L) whose bitstream header claims ``width`` x ``height`` (at most 16384 each)."""
    data = bytearray(encode(Image.new("RGB", (4, 4), (10, 20, 30)), "WEBP", lossless=True))
    start = data.index(b"VP8L") + 8  # chunk header: fourcc and size
    assert data[start] == 0x2F
    bits = (width - 1) | ((height - 1) << 14) | (struct.unpack_from("<I", data, start + 1)[0] & ~0x0FFFFFFF)
    struct.pack_into("<I", data, start + 1, bits)
    return bytes(data)


def pdf_file(
    pages: list[bytes], extra_objects: list[bytes] = (), catalog_extra: bytes = b"", trailer_extra: bytes = b""
) -> bytes:
    """A hand-written PDF: catalog, page tree, one object per page (its dictionary), then ``extra_objects``.

    Page dictionaries may reference the extra objects as ``{n} 0 R`` with n counted from ``3 + len(pages)``.
    """
    kids = " ".join(f"{3 + i} 0 R" for i in range(len(pages))).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count " + str(len(pages)).encode() + b" >>",
        *(b"<< /Type /Page /Parent 2 0 R " + page + b" >>" for page in pages),
        *extra_objects,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R ".encode() + trailer_extra + b" >>\n"
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pdf_page(width: float = 72, height: float = 72, extra: bytes = b"") -> bytes:
    """A page dictionary's body: its MediaBox (points) and ``extra`` entries."""
    return f"/MediaBox [0 0 {width} {height}] ".encode() + extra


def tiff_pages(count: int, size: tuple[int, int] = (8, 8)) -> bytes:
    """A multi-page TIFF of ``count`` small gray pages."""
    pages = [Image.new("L", size, 40 + (i * 7) % 200) for i in range(count)]
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def elf_header() -> bytes:
    """The first bytes of an x86-64 ELF executable."""
    return b"\x7fELF\x02\x01\x01\0" + b"\0" * 8 + struct.pack("<HHI", 2, 62, 1) + b"\0" * 40


def zip_file(name: str = "a.txt", content: bytes = b"hello") -> bytes:
    """A one-file ZIP archive."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


# --- files --------------------------------------------------------------------------------------------


def files(max_pages: int = 50) -> dict[str, bytes]:
    """Hostile and odd files by name (also the fuzz target's seed corpus); ``max_pages``: the server's page
    limit (``OCR_MAX_PAGES``), which one TIFF passes."""
    text = text_image()
    png = encode(text, "PNG")
    gif = encode(text, "GIF")
    jpeg = encode(text.convert("RGB"), "JPEG", quality=90)
    tiff = encode(text, "TIFF")
    bmp = encode(text, "BMP")
    webp = encode(text, "WEBP", lossless=True)
    one_page_pdf = pdf_file([pdf_page()])
    cmyk = Image.merge("CMYK", [Image.new("L", text.size, 0)] * 3 + [Image.eval(text, lambda v: 255 - v)])
    palette = text.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    palette.info["transparency"] = 0
    sixteen = Image.fromarray((np.asarray(text, dtype=np.uint16) * 257).astype(np.uint16))
    frames = [text, Image.new("L", text.size, 255)]
    xref_offset = one_page_pdf.rindex(b"startxref")
    return {
        # Decompression bombs: tiny files that claim (or really inflate to) too many pixels.
        "bomb_png_header.png": png_claiming(100_000, 100_000),
        "bomb_png_zlib.png": png_zlib_bomb(),
        "bomb_gif.gif": gif_claiming(65_535, 65_535),
        "bomb_tiff.tif": tiff_claiming(100_000, 100_000),
        "bomb_jpeg.jpg": jpeg_claiming(65_000, 65_000),
        "bomb_bmp.bmp": bmp_claiming(50_000, 50_000),
        "bomb_webp.webp": webp_claiming(16_384, 16_384),
        # Every format cut short.
        "truncated_png.png": png[: len(png) // 2],
        "truncated_jpeg.jpg": jpeg[: len(jpeg) // 2],
        "truncated_gif.gif": gif[: len(gif) // 2],
        "truncated_tiff.tif": tiff[: len(tiff) // 2],
        "truncated_bmp.bmp": bmp[: len(bmp) // 2],
        "truncated_webp.webp": webp[: len(webp) // 2],
        "truncated_pdf.pdf": one_page_pdf[: len(one_page_pdf) // 2],
        "tiff_second_ifd_without_size.tif": tiff_second_ifd_without_size(),
        "header_only_png.png": png[:8],
        # Polyglots: one file that is two formats.
        "polyglot_png_zip.png": png + zip_file(),
        "polyglot_gifar.gif": gif + zip_file("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        "polyglot_png_pdf.png": png[:33] + png_chunk(b"tEXt", b"Comment\0%PDF-1.7 not really") + png[33:],
        "polyglot_pdf_png.pdf": one_page_pdf + png,
        # Not images at all.
        "text.txt": b"just some text, not an image\n" * 10,
        "page.html": b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>",
        "image.svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
        "program.elf": elf_header(),
        "archive.zip": zip_file(),
        "empty.png": b"",
        "psd_like.psd": b"8BPS\0\x01" + b"\0" * 6 + struct.pack(">HIIHH", 1, 8, 8, 8, 1) + b"\0" * 64,
        "ghostscript.eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n(x) print\nshowpage\n",
        # Odd but valid images.
        "zero_by_zero.png": png_claiming(0, 0),
        "one_by_one.png": encode(Image.new("L", (1, 1), 255), "PNG"),
        "one_by_100000.png": encode(Image.new("L", (100_000, 1), 255), "PNG"),
        "sixteen_bit.png": encode(sixteen, "PNG"),
        "cmyk.jpg": encode(cmyk, "JPEG"),
        "palette_transparent.png": encode(palette, "PNG", transparency=0),
        "animated.gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0),
        "text_line.png": png,
        # Documents.
        "tiff_over_max_pages.tif": tiff_pages(max_pages + 1),
        "tiff_three_pages.tif": tiff_pages(3),
        "pdf_zero_pages.pdf": pdf_file([]),
        "pdf_encrypted.pdf": pdf_file(
            [pdf_page()],
            [b"<< /Filter /Standard /V 1 /R 2 /O <" + b"11" * 32 + b"> /U <" + b"22" * 32 + b"> /P -4 >>"],
            trailer_extra=b"/Encrypt 4 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]",
        ),
        "pdf_javascript.pdf": pdf_file(
            [pdf_page()],
            [b"<< /Type /Action /S /JavaScript /JS (app.alert\\('pwned'\\);) >>"],
            catalog_extra=b"/OpenAction 4 0 R",
        ),
        "pdf_corrupt_xref.pdf": one_page_pdf[:xref_offset] + b"startxref\n999999\n%%EOF\n",
        "pdf_huge_mediabox.pdf": pdf_file([pdf_page(14_400, 14_400)]),
        "pdf_absurd_mediabox.pdf": pdf_file([pdf_page(1e30, 1e30)]),
        "pdf_zero_area_page.pdf": pdf_file([pdf_page(0, 0)]),
        "pdf_page_bomb.pdf": pdf_file([pdf_page()] * 2000),
        "pdf_one_page.pdf": one_page_pdf,
        "pdf_garbage.pdf": b"%PDF-1.7\n" + b"\x00garbage" * 100,
    }


def b64(data: bytes) -> str:
    """``data`` as base64 text."""
    return base64.b64encode(data).decode("ascii")


# --- requests -----------------------------------------------------------------------------------------


@dataclass
class Hostile:
    """One request of the corpus and what it must get.

    The request is ``method path`` with one of: ``files``/``form`` (multipart), ``json_body``, ``body`` (raw
    bytes with ``headers``), or ``raw`` (the whole HTTP request, sent over a socket).
    """

    kind: str
    expect: frozenset[str]
    method: str = "POST"
    path: str = "/v1/jobs"
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    form: dict[str, str] | list[tuple[str, str]] | None = None
    json_body: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    # For OK: wait for the job (or a synchronous answer) and require it to have succeeded.
    wait: bool = False


def _upload(kind: str, name: str, data: bytes, expect: set[str], path: str = "/v1/jobs", **form: str) -> Hostile:
    return Hostile(
        kind, frozenset(expect), path=path, files=[("image", (name, data, "application/octet-stream"))], form=form
    )


def _json(kind: str, body: Any, expect: set[str], path: str = "/v1/jobs", **kwargs: Any) -> Hostile:
    return Hostile(kind, frozenset(expect), path=path, json_body=body, **kwargs)


def _raw(kind: str, request: bytes, expect: set[str]) -> Hostile:
    return Hostile(kind, frozenset(expect), raw=request)


def _body(kind: str, body: bytes, expect: set[str], content_type: str = "application/json") -> Hostile:
    return Hostile(kind, frozenset(expect), body=body, headers={"Content-Type": content_type})


def _get(kind: str, path: str, expect: set[str], **headers: str) -> Hostile:
    return Hostile(kind, frozenset(expect), method="GET", path=path, headers=headers)


def requests_corpus(max_batch_images: int = 64, max_pages: int = 50) -> list[Hostile]:
    """Every hostile request, with the error codes (or OK) it must get, for a server with these limits
    (``OCR_MAX_BATCH_IMAGES``, ``OCR_MAX_PAGES``)."""
    f = files(max_pages)
    png = f["text_line.png"]
    good = b64(png)
    cases: list[Hostile] = []
    add = cases.append

    # Decompression bombs.
    for name in ("bomb_png_header.png", "bomb_png_zlib.png", "bomb_gif.gif", "bomb_tiff.tif", "bomb_jpeg.jpg"):
        add(_upload(name, name, f[name], {"too_many_pixels"}))
    add(_upload("bomb_bmp.bmp", "bomb_bmp.bmp", f["bomb_bmp.bmp"], {"too_many_pixels", "corrupt_image"}))
    add(_upload("bomb_webp.webp", "bomb_webp.webp", f["bomb_webp.webp"], {"too_many_pixels", "corrupt_image"}))
    # Truncated files of every format.
    for name in ("truncated_png.png", "truncated_jpeg.jpg", "truncated_tiff.tif", "truncated_bmp.bmp"):
        add(_upload(name, name, f[name], {"corrupt_image"}))
    add(_upload("truncated_gif.gif", "t.gif", f["truncated_gif.gif"], {"corrupt_image", OK}, **TESSERACT))
    add(_upload("truncated_webp.webp", "t.webp", f["truncated_webp.webp"], {"corrupt_image", "unsupported_format"}))
    add(_upload("header_only_png.png", "h.png", f["header_only_png.png"], {"corrupt_image", "unsupported_format"}))
    # Found by the fuzz target: counting this TIFF's frames raised TypeError (a 500).
    broken_ifd = f["tiff_second_ifd_without_size.tif"]
    add(_upload("tiff_second_ifd_without_size", "s.tif", broken_ifd, {OK, "corrupt_image"}, **TESSERACT))
    add(_upload("truncated_pdf.pdf", "t.pdf", f["truncated_pdf.pdf"], {"corrupt_document", OK}, **TESSERACT))
    # Polyglots: the image part is read; a PDF header in the first KiB makes it a document.
    add(_upload("polyglot_png_zip", "p.png", f["polyglot_png_zip.png"], {OK}, path="/v1/predict_text", **TESSERACT))
    add(_upload("polyglot_gifar", "p.gif", f["polyglot_gifar.gif"], {OK}, path="/v1/predict_text", **TESSERACT))
    add(_upload("polyglot_png_pdf", "p.png", f["polyglot_png_pdf.png"], {"corrupt_document", OK}, **TESSERACT))
    add(_upload("polyglot_pdf_png", "p.pdf", f["polyglot_pdf_png.pdf"], {OK}, **TESSERACT))
    # Wrong types.
    for name in ("text.txt", "page.html", "image.svg", "program.elf", "archive.zip", "psd_like.psd", "ghostscript.eps"):
        add(_upload(name, name, f[name], {"unsupported_format"}))
    add(_upload("empty_file", "empty.png", b"", {"empty_image"}))
    # Odd but valid images: read, and the job succeeds.
    add(_upload("zero_by_zero.png", "z.png", f["zero_by_zero.png"], {"corrupt_image", "unsupported_format"}))
    for name in ("one_by_one.png", "sixteen_bit.png", "cmyk.jpg", "palette_transparent.png", "animated.gif"):
        hostile = _upload(name, name, f[name], {OK}, **TESSERACT)
        hostile.wait = True
        add(hostile)
    add(_upload("one_by_100000.png", "w.png", f["one_by_100000.png"], {OK}, engines="tesseract", mode="char"))
    # Documents.
    add(_upload("tiff_over_max_pages", "m.tif", f["tiff_over_max_pages.tif"], {"too_many_pages"}))
    add(
        _upload(
            "tiff_document_to_predict", "m.tif", f["tiff_three_pages.tif"], {"document_not_accepted"}, "/v1/predict"
        )
    )
    add(_upload("pdf_zero_pages", "z.pdf", f["pdf_zero_pages.pdf"], {"empty_document", "corrupt_document"}))
    add(_upload("pdf_encrypted", "e.pdf", f["pdf_encrypted.pdf"], {"corrupt_document"}))
    add(_upload("pdf_javascript", "j.pdf", f["pdf_javascript.pdf"], {OK}, **TESSERACT))
    add(_upload("pdf_corrupt_xref", "x.pdf", f["pdf_corrupt_xref.pdf"], {OK, "corrupt_document"}, **TESSERACT))
    add(_upload("pdf_huge_mediabox", "h.pdf", f["pdf_huge_mediabox.pdf"], {OK}, **TESSERACT))
    add(_upload("pdf_absurd_mediabox", "a.pdf", f["pdf_absurd_mediabox.pdf"], {OK, "corrupt_document"}, **TESSERACT))
    add(_upload("pdf_zero_area_page", "z.pdf", f["pdf_zero_area_page.pdf"], {OK}, **TESSERACT))
    add(_upload("pdf_page_bomb", "b.pdf", f["pdf_page_bomb.pdf"], {"too_many_pages"}))
    add(_upload("pdf_garbage", "g.pdf", f["pdf_garbage.pdf"], {"corrupt_document"}))
    add(_upload("pdf_to_predict", "p.pdf", f["pdf_one_page.pdf"], {"document_not_accepted"}, "/v1/predict"))

    # Oversized uploads and fields.
    add(_upload("image_over_upload_limit", "big.png", png + b"\0" * (21 * MEGABYTE), {"image_too_large"}))
    add(_json("preset_1mb", {"image": good, "preset": "p" * MEGABYTE}, {"unknown_preset"}))
    add(_json("engine_name_1mb", {"image": good, "engines": ["e" * MEGABYTE]}, {"unknown_engine"}))
    add(_json("weights_key_1mb", {"image": good, "weights": {"k" * MEGABYTE: 1.0}}, {"unknown_engine"}))
    add(_json("weights_bad_value_key_1mb", {"image": good, "weights": {"k" * MEGABYTE: "x"}}, {"invalid_request"}))
    add(_json("mode_1mb", {"image": good, "mode": "m" * MEGABYTE}, {"invalid_request"}))
    add(_upload("form_field_1mb", "a.png", png, {"payload_too_large", "unknown_preset"}, preset="p" * MEGABYTE))
    add(_upload("form_weights_1mb", "a.png", png, {"payload_too_large", "invalid_weights"}, weights="{" * 400_000))
    idempotency = _upload("idempotency_key_10kb", "a.png", png, {"header_too_large"}, **TESSERACT)
    idempotency.headers = {"Idempotency-Key": "k" * 10_000}
    add(idempotency)
    add(_get("job_id_5kb", "/v1/jobs/" + "j" * 5_000, {"uri_too_long"}))
    add(_get("job_id_10kb", "/v1/jobs/" + "j" * 10_000, {"uri_too_long"}))
    add(_get("query_10kb", "/health?q=" + "q" * 10_000, {"uri_too_long"}))
    add(
        Hostile(
            "header_70kb",
            frozenset({"header_too_large"}),
            method="GET",
            path="/health",
            headers={"X-Big": "h" * 70_000},
        )
    )
    many = {f"X-H{i}": "v" for i in range(120)}
    add(Hostile("too_many_headers", frozenset({"header_too_large"}), method="GET", path="/health", headers=many))
    batch = [good] * (max_batch_images + 1)
    add(_json("batch_over_limit", {"images": batch, **TESSERACT_JSON}, {"too_many_images"}, path="/v1/batch_predict"))
    add(_json("batch_empty", {"images": []}, {"invalid_request"}, path="/v1/batch_predict"))

    # Bad base64.
    add(_json("base64_non_alphabet", {"image": "%%%%not*base64!!"}, {"invalid_base64"}))
    add(_json("base64_missing_padding", {"image": "QUJDRA"}, {"invalid_base64"}))
    add(_json("base64_excess_padding", {"image": good + "A="}, {"invalid_base64"}))
    add(_json("base64_newlines", {"image": good[:40] + "\n" + good[40:]}, {"invalid_base64"}))
    add(_json("base64_unicode", {"image": "ÿÿÿÿ" + good}, {"invalid_base64"}))
    add(_json("data_url_without_comma", {"image": "data:image/png;base64" + good}, {"invalid_base64"}))
    add(_json("data_url_empty", {"image": "data:image/png;base64,"}, {"empty_image"}))
    add(_json("image_empty_string", {"image": ""}, {"empty_image", "invalid_request"}))
    add(_json("image_not_a_string", {"image": 12345}, {"invalid_request"}))
    add(_json("image_null", {"image": None}, {"invalid_request"}))
    data_url = _json("data_url_valid", {"image": "data:image/png;base64," + good, **TESSERACT_JSON}, {OK})
    data_url.wait = True
    add(data_url)
    mixed = {"images": [good, "%%bad%%", b64(b"not an image")], **TESSERACT_JSON}
    add(_json("batch_one_bad_item", mixed, {OK}, path="/v1/batch_predict"))

    # Path traversal and weird file names (the name is never used).
    for kind, name in (
        ("filename_traversal", "../../etc/passwd"),
        ("filename_nul", "a\0b.png"),
        ("filename_10kb", "n" * 10_000 + ".png"),
        ("filename_rtl", "\u202egnp.exe"),
        ("filename_empty", ""),
    ):
        add(_upload(kind, name, png, {OK, "missing_image"} if kind == "filename_empty" else {OK}, **TESSERACT))
    add(_get("job_id_traversal", "/v1/jobs/..%2F..%2Fetc%2Fpasswd", {"not_found", "job_not_found"}))
    add(_get("job_id_nul", "/v1/jobs/a%00b", {"job_not_found"}))
    add(_get("job_id_unicode", "/v1/jobs/%E2%80%AEdi", {"job_not_found"}))
    add(_get("job_id_bad_utf8", "/v1/jobs/%FF%FE", {"job_not_found", "bad_request"}))
    add(_get("result_bad_format", "/v1/jobs/x/result?format=" + "f" * 3000, {"invalid_format"}))
    add(_get("result_unknown_job", "/v1/jobs/nope/result?format=text", {"job_not_found"}))

    # Huge and deep JSON, and JSON that is not what it says.
    add(_body("json_deep", b'{"image": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", {"invalid_json"}))
    add(_body("json_huge_array", b'{"image": [' + b"1," * 2_000_000 + b"1]}", {"invalid_request"}))
    add(_body("json_top_level_array", b"[1, 2, 3]", {"invalid_json"}))
    add(_body("json_truncated", b'{"image": "abc', {"invalid_json"}))
    add(_body("json_bad_utf8", b'{"image": "\xff\xfe"}', {"invalid_json"}))
    add(_body("json_utf16", json.dumps({"image": good, **TESSERACT_JSON}).encode("utf-16"), {OK}))
    add(_body("json_big_integer", b'{"image": "AAAA", "top_k": 1' + b"0" * 5000 + b"}", {"invalid_json"}))
    add(
        _body(
            "json_duplicate_keys",
            b'{"image": "%%bad%%", "image": "' + good.encode() + b'", "engines": ["tesseract"], "mode": "line"}',
            {OK},
        )
    )
    add(
        _json("json_unknown_fields", {"image": good, "evil": {"$ne": 1}, "__proto__": {"x": 1}, **TESSERACT_JSON}, {OK})
    )

    # Wrong content types.
    add(_body("text_plain", png, {"unsupported_media_type"}, "text/plain"))
    add(_body("xml", b"<image/>", {"unsupported_media_type"}, "application/xml"))
    add(_body("no_content_type", png, {"unsupported_media_type"}, ""))
    add(
        _body(
            "urlencoded",
            b"image=" + good.encode()[:100],
            {"unsupported_media_type"},
            "application/x-www-form-urlencoded",
        )
    )
    add(_body("json_type_multipart_body", b"--x\r\n\r\n--x--", {"invalid_json"}))
    add(
        _body(
            "multipart_no_boundary",
            b'--x\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\nabc\r\n--x--\r\n',
            {"missing_image"},
            "multipart/form-data",
        )
    )
    add(
        _body(
            "multipart_wrong_boundary",
            b'--x\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\nabc\r\n--x--\r\n',
            {"missing_image"},
            "multipart/form-data; boundary=y",
        )
    )
    add(
        _body(
            "multipart_unterminated",
            b'--x\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\nabc',
            {"missing_image", "bad_request"},
            "multipart/form-data; boundary=x",
        )
    )
    add(
        Hostile(
            "multipart_boundary_1kb",
            frozenset({"missing_image", "bad_request"}),
            body=b"--" + b"b" * 1000 + b"--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=" + "b" * 1000},
        )
    )

    # Numeric edge cases and unknown options.
    for kind, value in (
        ("top_k_0", 0),
        ("top_k_-1", -1),
        ("top_k_5.5", 5.5),
        ("top_k_nan_string", "NaN"),
        ("top_k_21", 21),
    ):
        add(_json(kind, {"image": good, "top_k": value}, {"invalid_request"}))
    add(_body("top_k_1e309", b'{"image": "' + good.encode() + b'", "top_k": 1e309}', {"invalid_request"}))
    add(_body("top_k_nan_literal", b'{"image": "' + good.encode() + b'", "top_k": NaN}', {"invalid_request"}))
    add(_upload("form_top_k_abc", "a.png", png, {"invalid_request"}, top_k="abc"))
    add(_upload("form_top_k_1e309", "a.png", png, {"invalid_request"}, top_k="1e309"))
    add(_json("weights_negative", {"image": good, "weights": {"tesseract": -1}}, {"invalid_request"}))
    add(
        _body(
            "weights_infinite",
            b'{"image": "' + good.encode() + b'", "weights": {"tesseract": Infinity}}',
            {"invalid_request", "invalid_weights"},
        )
    )
    add(_upload("form_weights_nan", "a.png", png, {"invalid_weights"}, weights='{"tesseract": NaN}'))
    add(_upload("form_weights_list", "a.png", png, {"invalid_weights"}, weights="[1, 2]"))
    add(_json("weights_all_zero", {"image": good, "weights": {"tesseract": 0}}, {"invalid_weights"}))
    add(_json("mode_unknown", {"image": good, "mode": "sideways"}, {"invalid_request"}))
    add(_json("method_unknown", {"image": good, "method": "telepathy"}, {"invalid_request"}))
    add(_json("content_unknown", {"image": good, "content": "alien"}, {"invalid_request"}))
    add(_json("engine_unknown", {"image": good, "engines": ["nonexistent"]}, {"unknown_engine"}))
    add(_json("preset_unknown", {"image": good, "preset": "nonexistent"}, {"unknown_preset"}))
    add(_json("cache_not_boolean", {"image": good, "cache": "maybe"}, {"invalid_request"}))
    add(_upload("form_mode_unknown", "a.png", png, {"invalid_request"}, mode="sideways"))
    add(_upload("document_in_char_mode", "m.tif", f["tiff_three_pages.tif"], {"invalid_mode"}, mode="char"))

    # Completion callbacks the server must not call (SSRF), or cannot even parse.
    for kind, url in (
        ("callback_not_http", "ftp://127.0.0.1/x"),
        ("callback_cloud_metadata", "http://169.254.169.254/latest/meta-data/"),
        ("callback_private", "http://10.0.0.1/hook"),
        ("callback_loopback_not_allowed", "http://127.0.0.2:1/hook"),
        ("callback_broken_ipv6", "http://[::1"),
        ("callback_bad_ip_literal", "http://[zz]/"),
        ("callback_1mb", "http://" + "a" * MEGABYTE),
    ):
        add(
            _json(kind, {"image": good, "callback_url": url, **TESSERACT_JSON}, {"callback_refused", "invalid_request"})
        )

    # Duplicated fields.
    two = [("image", ("a.png", png, "image/png")), ("image", ("b.png", png, "image/png"))]
    add(Hostile("two_image_fields", frozenset({"too_many_images"}), files=two))
    dup = Hostile(
        "duplicated_mode_field", frozenset({"invalid_request"}), files=[("image", ("a.png", png, "image/png"))]
    )
    dup.form = [("mode", "line"), ("mode", "sideways"), ("engines", "tesseract")]
    add(dup)

    # Routes and methods.
    add(Hostile("delete_jobs", frozenset({"method_not_allowed"}), method="DELETE"))
    add(_get("unknown_route", "/v2/nothing", {"not_found"}))
    add(
        Hostile(
            "range_not_satisfiable",
            frozenset({"range_not_satisfiable"}),
            method="GET",
            path="/docs/static/swagger-ui.css",
            headers={"Range": "bytes=999999999-"},
        )
    )

    # Malformed HTTP, answered by gunicorn before the app.
    add(
        _raw(
            "http_garbage_request_line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n", {"bad_request"}
        )
    )
    add(_raw("http_bare_lf", b"GET /health HTTP/1.1\nHost: x\n\n", {"bad_request"}))
    add(_raw("http_bad_header_name", b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", {"bad_request"}))
    add(_raw("http_bad_version", b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", {"bad_request"}))
    add(
        _raw(
            "http_transfer_encoding_gzip",
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            {"bad_request"},
        )
    )
    add(
        _raw(
            "http_transfer_encoding_unknown",
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: frobnicate\r\n\r\n",
            {"bad_request"},  # gunicorn's own answer is a 501
        )
    )
    add(
        _raw(
            "http_expect_unknown",
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nExpect: the-unexpected\r\nContent-Length: 0\r\n\r\n",
            {"expectation_failed"},
        )
    )
    add(
        _raw(
            "http_two_content_lengths",
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            {"bad_request"},
        )
    )
    add(
        _raw(
            "http_bad_chunk_size",
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"\r\nzz\r\n{}\r\n0\r\n\r\n",
            {"bad_request"},  # read by the app: this was a 500 before app.errors handled gunicorn's body errors
        )
    )
    add(
        _raw(
            "http_request_line_9kb", b"GET /v1/jobs/" + b"j" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {"uri_too_long"}
        )
    )
    add(_raw("http_header_obs_fold", b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", {"bad_request"}))
    return cases
