"""Upload validation: every accepted format normalised to PNG, the 4xx answers for bad uploads."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from jobs.errors import InvalidImage
from jobs.images import ValidatedImage, validate_image

MAX_BYTES = 10_000_000
MAX_PIXELS = 10_000_000

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    """``image`` written by Pillow in ``fmt``."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def validate(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> ValidatedImage:
    """validate_image with generous default limits."""
    return validate_image(data, max_bytes, max_pixels)


def rejection(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> InvalidImage:
    """The InvalidImage that validate_image raises for ``data``."""
    with pytest.raises(InvalidImage) as caught:
        validate_image(data, max_bytes, max_pixels)
    return caught.value


def decoded(result: ValidatedImage) -> np.ndarray:
    """The pixels of the normalised PNG, checked to be an 8-bit PNG of the reported size."""
    with Image.open(io.BytesIO(result.png)) as image:
        assert image.format == "PNG"
        assert image.mode in ("L", "RGB")
        assert image.size == (result.width, result.height)
        return np.asarray(image)


def blocks_rgb() -> np.ndarray:
    """A 16x32 RGB test card: flat blocks of five colours, aligned to JPEG's 8x8 blocks."""
    card = np.zeros((16, 32, 3), dtype=np.uint8)
    card[:8, :16], card[:8, 16:], card[8:, :16], card[8:, 16:24], card[8:, 24:] = RED, GREEN, BLUE, WHITE, BLACK
    return card


def png_claiming(width: int, height: int) -> bytes:
    """A gray PNG whose header claims ``width`` x ``height`` but whose IDAT holds 10 bytes only."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    )


def noisy_rgb(seed: int = 0) -> Image.Image:
    """A noisy image that compresses badly, so a cut file loses most of its pixel data."""
    pixels = np.random.default_rng(seed).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


# --- accepted formats ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("PNG", {}),
        ("TIFF", {}),
        ("BMP", {}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),
    ],
)
def test_lossless_formats_round_trip_to_identical_rgb_png(fmt: str, params: dict) -> None:
    card = blocks_rgb()
    result = validate(encode(Image.fromarray(card), fmt, **params))
    assert result.source_format == fmt
    assert (result.width, result.height) == (32, 16)
    np.testing.assert_array_equal(decoded(result), card)


def test_jpeg_round_trips_within_compression_error() -> None:
    card = blocks_rgb()
    result = validate(encode(Image.fromarray(card), "JPEG", quality=95, subsampling=0))
    assert result.source_format == "JPEG"
    pixels = decoded(result)
    assert pixels.shape == card.shape
    assert np.abs(pixels.astype(int) - card.astype(int)).max() <= 8
    assert np.abs(pixels.astype(int) - card.astype(int)).mean() <= 2


def test_animated_gif_uses_first_frame() -> None:
    first, second = Image.new("L", (10, 6), 0), Image.new("L", (10, 6), 255)
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    with Image.open(io.BytesIO(data)) as source:
        assert source.n_frames == 2
    pixels = decoded(validate(data))
    assert pixels.shape[:2] == (6, 10)
    assert pixels.max() == 0


def test_multipage_tiff_uses_first_page() -> None:
    first, second = Image.new("L", (7, 5), 30), Image.new("L", (7, 5), 220)
    data = encode(first, "TIFF", save_all=True, append_images=[second])
    pixels = decoded(validate(data))
    np.testing.assert_array_equal(pixels, np.full((5, 7), 30, dtype=np.uint8))


# --- EXIF orientation ----------------------------------------------------------------------


def marked_jpeg(orientation: int) -> bytes:
    """A 40x80 (HxW) white JPEG with a black 16x16 mark at the stored top-left corner."""
    pixels = np.full((40, 80, 3), 255, dtype=np.uint8)
    pixels[:16, :16] = 0
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(Image.fromarray(pixels), "JPEG", quality=95, exif=exif)


def corner_means(gray: np.ndarray, size: int = 16) -> dict[str, float]:
    """Mean brightness of each ``size`` square corner."""
    return {
        "top_left": float(gray[:size, :size].mean()),
        "top_right": float(gray[:size, -size:].mean()),
        "bottom_left": float(gray[-size:, :size].mean()),
        "bottom_right": float(gray[-size:, -size:].mean()),
    }


@pytest.mark.parametrize(
    ("orientation", "marked_corner"),
    [
        (6, "top_right"),  # stored rotated 90 degrees counter-clockwise: displayed turned clockwise
        (8, "bottom_left"),  # stored rotated 90 degrees clockwise: displayed turned counter-clockwise
    ],
)
def test_exif_rotation_is_applied(orientation: int, marked_corner: str) -> None:
    result = validate(marked_jpeg(orientation))
    assert (result.width, result.height) == (40, 80)
    gray = decoded(result).astype(float).mean(axis=2)
    assert gray.shape == (80, 40)
    corners = corner_means(gray)
    assert corners.pop(marked_corner) < 40
    assert all(mean > 215 for mean in corners.values())


def test_exif_orientation_1_leaves_pixels_as_stored() -> None:
    result = validate(marked_jpeg(1))
    assert (result.width, result.height) == (80, 40)
    corners = corner_means(decoded(result).astype(float).mean(axis=2))
    assert corners.pop("top_left") < 40
    assert all(mean > 215 for mean in corners.values())


# --- colour modes ------------------------------------------------------------------------------


def test_grayscale_stays_8bit_gray() -> None:
    gray = np.arange(0, 240, dtype=np.uint8).reshape(12, 20)
    result = validate(encode(Image.fromarray(gray), "PNG"))
    pixels = decoded(result)
    assert pixels.ndim == 2
    np.testing.assert_array_equal(pixels, gray)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "BMP"])
def test_one_bit_image_becomes_black_and_white_gray(fmt: str) -> None:
    bits = np.array([[False, True, True, False], [True, False, False, True]])
    image = Image.fromarray(bits)
    assert image.mode == "1"
    pixels = decoded(validate(encode(image, fmt)))
    np.testing.assert_array_equal(pixels, np.where(bits, 255, 0).astype(np.uint8))


def test_palette_image_becomes_rgb_with_its_palette_colours() -> None:
    image = Image.new("P", (3, 1))
    image.putpalette([*RED, *GREEN, *BLUE] + [0] * (253 * 3))
    image.putdata([0, 1, 2])
    pixels = decoded(validate(encode(image, "PNG")))
    np.testing.assert_array_equal(pixels, np.array([[RED, GREEN, BLUE]], dtype=np.uint8))


def la_image() -> Image.Image:
    """Gray+alpha: opaque black, transparent black, transparent white."""
    return Image.fromarray(np.array([[[0, 255], [0, 0], [255, 0]]], dtype=np.uint8), mode="LA")


def rgba_image() -> Image.Image:
    """RGBA: opaque black, transparent black, transparent red."""
    return Image.fromarray(np.array([[[0, 0, 0, 255], [0, 0, 0, 0], [255, 0, 0, 0]]], dtype=np.uint8), mode="RGBA")


def palette_with_transparent_index() -> Image.Image:
    """Palette: index 0 (black) is transparent, index 1 is opaque black, index 2 opaque black too."""
    image = Image.new("P", (3, 1))
    image.putpalette([*BLACK, *BLACK, *BLACK] + [0] * (253 * 3))
    image.putdata([1, 0, 2])
    image.info["transparency"] = 0
    return image


@pytest.mark.parametrize(
    ("image", "fmt", "params", "expected"),
    [
        (la_image(), "PNG", {}, [BLACK, WHITE, WHITE]),
        (rgba_image(), "PNG", {}, [BLACK, WHITE, WHITE]),
        (rgba_image(), "WEBP", {"lossless": True, "exact": True}, [BLACK, WHITE, WHITE]),
        (rgba_image(), "TIFF", {}, [BLACK, WHITE, WHITE]),
        (palette_with_transparent_index(), "PNG", {"transparency": 0}, [BLACK, WHITE, BLACK]),
        (palette_with_transparent_index(), "GIF", {"transparency": 0}, [BLACK, WHITE, BLACK]),
    ],
    ids=["LA-png", "RGBA-png", "RGBA-webp", "RGBA-tiff", "P-png", "P-gif"],
)
def test_transparency_is_flattened_onto_white(image: Image.Image, fmt: str, params: dict, expected: list) -> None:
    pixels = decoded(validate(encode(image, fmt, **params)))
    np.testing.assert_array_equal(pixels, np.array([expected], dtype=np.uint8))


def test_half_transparent_gray_blends_with_white_paper() -> None:
    image = Image.fromarray(np.array([[[0, 128]]], dtype=np.uint8), mode="LA")
    (value,) = set(decoded(validate(encode(image, "PNG"))).ravel().tolist())
    assert abs(value - 127) <= 1  # 0 * 128/255 + 255 * 127/255


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_gray_is_scaled_to_8bit(fmt: str) -> None:
    image = Image.fromarray(np.array([[0, 32768, 65535]], dtype=np.uint16))
    data = encode(image, fmt)
    with Image.open(io.BytesIO(data)) as source:
        assert source.mode == "I;16"
    low, mid, high = decoded(validate(data)).ravel().tolist()
    assert (low, high) == (0, 255)
    assert abs(mid - 128) <= 1


def test_dark_16bit_gray_stays_dark() -> None:
    # 255 out of 65535 is nearly black; it must not be mistaken for 8-bit white.
    image = Image.fromarray(np.array([[0, 100, 255]], dtype=np.uint16))
    assert decoded(validate(encode(image, "PNG"))).ravel().tolist() == [0, 0, 1]


def test_16bit_scaling_does_not_depend_on_the_brightest_pixel() -> None:
    dark = np.array([[0, 200, 255]], dtype=np.uint16)
    brighter = np.array([[0, 200, 256]], dtype=np.uint16)
    first = decoded(validate(encode(Image.fromarray(dark), "PNG"))).ravel().tolist()
    second = decoded(validate(encode(Image.fromarray(brighter), "PNG"))).ravel().tolist()
    assert first[:2] == second[:2]


# --- digest ------------------------------------------------------------------------------------


def test_sha256_is_the_digest_of_the_uploaded_bytes() -> None:
    data = marked_jpeg(6)
    result = validate(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.sha256 != hashlib.sha256(result.png).hexdigest()


def test_same_pixels_in_different_files_have_different_digests() -> None:
    card = Image.fromarray(blocks_rgb())
    as_png, as_bmp = validate(encode(card, "PNG")), validate(encode(card, "BMP"))
    assert as_png.sha256 != as_bmp.sha256
    np.testing.assert_array_equal(decoded(as_png), decoded(as_bmp))


# --- rejections ----------------------------------------------------------------------------


def test_empty_upload_is_400_empty_image() -> None:
    error = rejection(b"")
    assert (error.status_code, error.code) == (400, "empty_image")


def test_upload_over_max_bytes_is_413() -> None:
    data = encode(Image.fromarray(blocks_rgb()), "PNG")
    error = rejection(data, max_bytes=len(data) - 1)
    assert (error.status_code, error.code) == (413, "image_too_large")


def test_upload_of_exactly_max_bytes_is_accepted() -> None:
    data = encode(Image.fromarray(blocks_rgb()), "PNG")
    assert validate(data, max_bytes=len(data)).width == 32


def test_pixel_limit_is_inclusive() -> None:
    data = encode(Image.new("L", (10, 10), 255), "PNG")
    assert validate(data, max_pixels=100).height == 10
    error = rejection(data, max_pixels=99)
    assert (error.status_code, error.code) == (413, "too_many_pixels")


def test_too_many_pixels_is_refused_from_the_header_without_decoding() -> None:
    data = png_claiming(2000, 1000)
    # The pixel data is not there: decoding it would fail as corrupt ...
    error = rejection(data, max_pixels=2_000_000)
    assert (error.status_code, error.code) == (422, "corrupt_image")
    # ... so a 413 below the limit proves the size came from the header alone.
    error = rejection(data, max_pixels=1_999_999)
    assert (error.status_code, error.code) == (413, "too_many_pixels")


@pytest.mark.parametrize(("width", "height"), [(12_000, 12_000), (100_000, 100_000)])
def test_decompression_bomb_over_pillows_limit_is_413(width: int, height: int) -> None:
    # Above Pillow's own bomb limit (warning at 89M pixels, error at twice that) even with our limit higher.
    error = rejection(png_claiming(width, height), max_pixels=10**12)
    assert (error.status_code, error.code) == (413, "too_many_pixels")
    # Our words and the limit in force, not Pillow's message.
    assert error.message == f"the image has too many pixels; the limit is {Image.MAX_IMAGE_PIXELS}"


def test_real_decompression_bomb_is_413() -> None:
    # 36M valid pixels in a few kilobytes: under Pillow's own bomb limit, over ours.
    data = encode(Image.new("1", (6_000, 6_000), 1), "PNG", optimize=True)
    assert len(data) < 20_000
    error = rejection(data, max_pixels=MAX_PIXELS)
    assert (error.status_code, error.code) == (413, "too_many_pixels")


def test_random_bytes_are_415_unsupported_format() -> None:
    data = np.random.default_rng(0).bytes(4096)
    error = rejection(data)
    assert (error.status_code, error.code) == (415, "unsupported_format")


@pytest.mark.parametrize("fmt", ["ICO", "PPM", "TGA", "PCX", "PDF"])
def test_real_but_disallowed_format_is_415(fmt: str) -> None:
    error = rejection(encode(Image.fromarray(blocks_rgb()), fmt))
    assert (error.status_code, error.code) == (415, "unsupported_format")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_is_422_corrupt_image(fmt: str) -> None:
    data = encode(noisy_rgb(), fmt)
    error = rejection(data[: len(data) // 2])
    assert (error.status_code, error.code) == (422, "corrupt_image")


def test_a_refusal_carries_its_status_code_and_message() -> None:
    error = rejection(b"")
    assert error.message and str(error) == error.message
    assert (error.status_code, error.code) == (400, "empty_image")


def test_a_huge_character_image_is_shrunk_within_the_budget_and_a_small_one_is_kept() -> None:
    from jobs.images import downscaled, validate_image

    buffer = io.BytesIO()
    Image.new("L", (3000, 1500), 255).save(buffer, format="PNG")
    image = validate_image(buffer.getvalue(), 10**8, 10**8)
    small = downscaled(image, 1_000_000)
    assert small.width * small.height <= 1_000_000 and abs(small.width / small.height - 2) < 0.01
    assert small.sha256 != image.sha256 and small.gray.shape == (small.height, small.width)
    assert downscaled(small, 1_000_000) is small


# --- what is stored ----------------------------------------------------------------------------------


def _png(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **params)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_a_clean_8bit_png_is_stored_as_sent(mode: str) -> None:
    data = _png(Image.new(mode, (30, 20), 128 if mode == "L" else (128, 128, 128)))
    result = validate(data)
    assert result.png == data and (result.width, result.height) == (30, 20)
    assert result.gray.shape == (20, 30) and int(result.gray[0, 0]) == 128


@pytest.mark.parametrize(
    "data",
    [
        _png(Image.new("RGBA", (30, 20), (0, 0, 0, 0))),  # transparent: flattened onto paper
        _png(Image.new("L", (30, 20), 0), transparency=0),  # a transparent gray value
        _png(Image.new("I;16", (30, 20), 40000)),  # 16 bits: scaled to 8
        _png(Image.new("P", (30, 20), 3)),  # a palette: expanded
    ],
    ids=["rgba", "gray-transparency", "16bit", "palette"],
)
def test_a_png_that_normalising_changes_is_stored_normalised(data: bytes) -> None:
    result = validate(data)
    assert result.png != data
    with Image.open(io.BytesIO(result.png)) as stored:
        assert stored.mode in ("L", "RGB")


def test_a_png_with_an_exif_turn_is_stored_turned() -> None:
    image = Image.new("L", (40, 20), 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed turned a quarter clockwise
    result = validate(_png(image, exif=exif))
    assert (result.width, result.height) == (20, 40)
