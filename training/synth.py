"""Synthetic glyphs: characters rendered from fonts, augmented like handwriting, normalised like EMNIST."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from engines.glyph import normalize_ink
from training.augment import AugmentConfig, degrade, distort
from training.classes import INDEX
from training.emnist import CharSet
from training.fonts import FontFile

RENDER_SIZE = 64
# Font sizes for augmented glyphs: small ones end up near the 20 px box and are not resampled, large
# ones are downsampled; both textures occur at serving time, and MNIST alone must not own the first.
SIZE_RANGE = (20, 81)
CLEAN_SIZES = (24, 36, 64)


@lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def render_char(font: FontFile, char: str, size: int = RENDER_SIZE) -> npt.NDArray[np.float32]:
    """``char`` drawn white on black in ``font`` at ``size`` pixels, as floats in [0, 1]."""
    face = _font(str(font.path), size)
    left, top, right, bottom = face.getbbox(char)
    pad = size // 4
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), char, font=face, fill=255)
    return np.asarray(image, dtype=np.float32) / 255.0


def make_glyph(
    font: FontFile, char: str, rng: np.random.Generator, config: AugmentConfig | None
) -> npt.NDArray[np.uint8] | None:
    """One 28x28 training glyph; ``config=None`` renders it clean (normalised, not augmented)."""
    image = render_char(font, char, size=int(rng.integers(*SIZE_RANGE)) if config else RENDER_SIZE)
    if config is not None:
        image = distort(image, rng, config)
    glyph = normalize_ink(image)
    if glyph is None or config is None:
        return glyph
    return degrade(glyph, rng, config)


def synthesize(
    fonts: Sequence[FontFile],
    per_class: int,
    seed: int,
    config: AugmentConfig | None = AugmentConfig(),  # noqa: B008 - frozen dataclass
    chars: str = "".join(INDEX),
) -> CharSet:
    """``per_class`` glyphs of each character, fonts drawn at random among those allowed to draw it.

    Each glyph gets its own generator seeded by ``(seed, class, k)``: the data do not depend on
    the order of generation.
    """
    images: list[npt.NDArray[np.uint8]] = []
    labels: list[int] = []
    for char in chars:
        allowed = [f for f in fonts if char in f.chars]
        if not allowed:
            raise ValueError(f"no font may draw {char!r}")
        for k in range(per_class):
            rng = np.random.default_rng([seed, INDEX[char], k])
            glyph = make_glyph(allowed[int(rng.integers(len(allowed)))], char, rng, config)
            if glyph is not None:
                images.append(glyph)
                labels.append(INDEX[char])
    return CharSet(np.stack(images), np.array(labels, dtype=np.int64))


def render_clean(fonts: Sequence[FontFile], chars: str = "".join(INDEX), sizes: Sequence[int] = CLEAN_SIZES) -> CharSet:
    """Every allowed (font, character) pair rendered at each of ``sizes``, normalised, not augmented."""
    images, labels = [], []
    for font in fonts:
        for char in (c for c in chars if c in font.chars):
            for size in sizes:
                glyph = normalize_ink(render_char(font, char, size))
                if glyph is not None:
                    images.append(glyph)
                    labels.append(INDEX[char])
    return CharSet(np.stack(images), np.array(labels, dtype=np.int64))
