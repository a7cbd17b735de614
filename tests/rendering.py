"""Test images drawn with a Debian font, and the measures the engine tests share."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from engines.base import Engine
from evaluation.normalize import normalise

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
Box = tuple[int, int, int, int]


def render(text: str, size: int = 32, white_on_black: bool = False, pad: int = 12) -> np.ndarray:
    """``text`` in DejaVu Sans, black on white (or inverted), as a gray uint8 crop."""
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=0)
    gray = np.asarray(image, dtype=np.uint8)
    return 255 - gray if white_on_black else gray


def render_page(lines: Sequence[str], size: int = 28) -> tuple[np.ndarray, list[Box]]:
    """A printed page and the ink box (textbbox) of each line as drawn."""
    font = ImageFont.truetype(FONT, size)
    page = Image.new("L", (900, 60 + 56 * len(lines)), 255)
    draw = ImageDraw.Draw(page)
    boxes: list[Box] = []
    for row, text in enumerate(lines):
        origin = (40, 30 + 56 * row)
        draw.text(origin, text, font=font, fill=0)
        left, top, right, bottom = (int(v) for v in draw.textbbox(origin, text, font=font))
        boxes.append((left, top, right, bottom))
    return np.asarray(page, dtype=np.uint8), boxes


def contains(outer: Sequence[int], inner: Sequence[int], slack: int = 0) -> bool:
    """Whether box ``outer`` holds box ``inner``, allowing ``slack`` pixels on each side."""
    return (
        outer[0] <= inner[0] + slack
        and outer[1] <= inner[1] + slack
        and outer[2] >= inner[2] - slack
        and outer[3] >= inner[3] - slack
    )


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate of one hypothesis."""
    return Levenshtein.distance(hypothesis, reference) / max(1, len(reference))


def corpus_cer(engine: Engine, lines: Sequence[tuple[np.ndarray, str]]) -> float:
    """Corpus CER of ``engine`` reading each (image, truth) line: its edits over the truths' length, both sides
    normalised as the evaluation normalises them (long s, r rotunda, ... mapped to modern letters)."""
    results = engine.recognize_text([image for image, _ in lines])
    edits = sum(Levenshtein.distance(normalise(r.text), normalise(t)) for r, (_, t) in zip(results, lines, strict=True))
    return edits / sum(len(normalise(t)) for _, t in lines)
