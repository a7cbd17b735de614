"""Validate and decode uploaded images once, in the API, so no bad input ever reaches a worker.

Accepted: PNG, JPEG, TIFF, BMP, WebP and GIF (first frame). The decoded image is normalised to
8-bit gray or RGB with EXIF orientation applied and transparency flattened onto white paper, then
stored as a lossless PNG that workers can trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from jobs.errors import InvalidImage, clip

# MPO is how Pillow names the JPEGs phones write (a main image plus previews): the first frame is used.
ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "MPO", "TIFF", "BMP", "WEBP", "GIF"})
ORIENTATION_TAG = 0x0112  # EXIF Orientation
GRAY_MODES = frozenset({"1", "L", "I;16", "I;16B", "I;16L", "I", "F"})
# What Pillow raises for a file it cannot read: its format plugins raise more than OSError (a TIFF whose
# second IFD has no size: TypeError; short tables: struct.error, IndexError, KeyError...). Any of them is
# the file's fault, a 422, never a 500. (Found by tests/fuzz/fuzz_images.py.)
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    EOFError,
    MemoryError,
    struct.error,
    IndexError,
    KeyError,
    ZeroDivisionError,
    OverflowError,
    RecursionError,
)


@dataclass(frozen=True)
class ValidatedImage:
    """An upload that passed validation: its digest, source format, normalised PNG and gray pixels."""

    sha256: str
    source_format: str
    width: int
    height: int
    png: bytes
    # The same pixels in gray, kept so the API can look at the ink without decoding the PNG again.
    gray: np.ndarray = field(repr=False, compare=False)


def validate_image(data: bytes, max_bytes: int, max_pixels: int) -> ValidatedImage:
    """Check, decode and normalise ``data``; raise :class:`~jobs.errors.InvalidImage` (with the 4xx status it
    stands for) on anything wrong."""
    if not data:
        raise InvalidImage(400, "empty_image", "the image is empty")
    if len(data) > max_bytes:
        raise InvalidImage(413, "image_too_large", f"the image is {len(data)} bytes; the limit is {max_bytes}")
    image = _open(data, max_pixels)
    try:
        if _stored_as_sent(image):
            png, normalised = data, image
        else:
            normalised = _normalise(image)
            buffer = io.BytesIO()
            normalised.save(buffer, format="PNG", compress_level=1)
            png = buffer.getvalue()
        gray = np.asarray(normalised if normalised.mode == "L" else normalised.convert("L"), dtype=np.uint8)
    except DECODE_ERRORS as exc:  # a mode or a palette that cannot be converted
        raise InvalidImage(422, "corrupt_image", f"the image cannot be decoded: {clip(exc, 200)}") from exc
    return ValidatedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        source_format=str(image.format),
        width=normalised.width,
        height=normalised.height,
        png=png,
        gray=gray,
    )


def _stored_as_sent(image: Image.Image) -> bool:
    """True for an upload that normalising would not change: an 8-bit gray or RGB PNG without transparency
    or an EXIF orientation. Such an upload is stored as sent; re-encoding it cost most of a small image's
    validation. (It decoded fully in :func:`_open`, so workers can read it.)"""
    if image.format != "PNG" or image.mode not in ("L", "RGB") or "transparency" in image.info:
        return False
    orientation = image.getexif().get(ORIENTATION_TAG, 1)
    return bool(orientation == 1)


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format
            if fmt not in ALLOWED_FORMATS:
                raise InvalidImage(415, "unsupported_format", f"format {fmt} is not accepted; use {_allowed()}")
            _check_pixels(image, max_pixels)
            image.seek(0)  # GIF and multi-page TIFF: the first frame only
            image.load()
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Our limit, or Pillow's own bomb guard where that is lower; never Pillow's wording.
        limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
        raise InvalidImage(413, "too_many_pixels", f"the image has too many pixels; the limit is {limit}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImage(415, "unsupported_format", f"not a recognised image; use {_allowed()}") from exc
    except DECODE_ERRORS as exc:
        # Pillow's message may quote bytes of the file: only its start is kept.
        raise InvalidImage(422, "corrupt_image", f"the image cannot be decoded: {clip(exc, 200)}") from exc
    image.format = fmt
    return image


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage(422, "corrupt_image", f"the image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise InvalidImage(
            413, "too_many_pixels", f"{width}x{height} is {width * height} pixels; the limit is {max_pixels}"
        )


def _normalise(image: Image.Image) -> Image.Image:
    # A broken EXIF block leaves the pixels as stored.
    with contextlib.suppress(*DECODE_ERRORS):
        image = ImageOps.exif_transpose(image)
    if image.mode in GRAY_MODES:
        return _to_8bit_gray(image)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        image = image.convert("RGBA")
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, image).convert("RGB")
    return image.convert("RGB")


def _to_8bit_gray(image: Image.Image) -> Image.Image:
    if image.mode in ("1", "L"):
        return image.convert("L")
    values = np.asarray(image, dtype=np.float64)
    # 16-bit and float images: map the type's full range onto 0-255. Only 32-bit "I" has no fixed
    # range: there values up to 255 are taken as 8-bit data (a dark 16-bit image must stay dark).
    top = 1.0 if image.mode == "F" and values.max(initial=0) <= 1.0 else 65535.0
    if image.mode == "I" and values.max(initial=0) <= 255:
        top = 255.0
    scaled = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def _allowed() -> str:
    return ", ".join(sorted(ALLOWED_FORMATS))


def downscaled(image: ValidatedImage, max_pixels: int) -> ValidatedImage:
    """``image`` shrunk to at most ``max_pixels`` (aspect kept), or itself when it is within them.

    The shrunk image is its own PNG with its own digest: the upload at full size stays what other modes
    (and the cache) know under the upload's digest.
    """
    if image.width * image.height <= max_pixels:
        return image
    scale = (max_pixels / (image.width * image.height)) ** 0.5
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    with Image.open(io.BytesIO(image.png)) as full:
        small = full.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", compress_level=1)
    png = buffer.getvalue()
    gray = np.asarray(small.convert("L"), dtype=np.uint8)
    return ValidatedImage(hashlib.sha256(png).hexdigest(), image.source_format, size[0], size[1], png, gray)
