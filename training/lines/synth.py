"""Rendered lines: many fonts (handwriting-style, book and historical faces), degraded like scans.

English handwriting has almost no licensed real lines, and printed text must not get worse while the
recognizer learns old hands, so part of every batch is drawn from fonts: English word phrases (Debian's
word list) and the texts of the real training lines (French and German, long s included) in faces that
can draw them. Drawing and degradation are :mod:`training.trocr.render`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.fonts import ALL, FontFile
from training.trocr.corpus import load_words, sample_text
from training.trocr.render import pick_sample

FONT_ROOT = Path("/usr/share/fonts")


@dataclass(frozen=True)
class LineFontFamily:
    """A Debian font package whose faces the line recognizer is trained on."""

    name: str
    package: str
    licence: str
    folder: str  # under /usr/share/fonts


LINE_FONT_FAMILIES = (
    LineFontFamily("dkg-handwriting", "fonts-dkg-handwriting", "OFL-1.1", "truetype/fifthhorseman"),
    LineFontFamily("breip", "fonts-breip", "OFL-1.1", "truetype/breip"),
    LineFontFamily("bwht", "fonts-bwht", "OFL-1.1", "opentype/bwht"),
    LineFontFamily("dancingscript", "fonts-dancingscript", "OFL-1.1", "opentype/dancingscript"),
    LineFontFamily("ecolier-court", "fonts-ecolier-court", "OFL-1.1 / GPL", "truetype/ecolier-court"),
    LineFontFamily("femkeklaver", "fonts-femkeklaver", "OFL-1.1", "truetype/femkeklaver"),
    LineFontFamily("humor-sans", "fonts-humor-sans", "GPL-3 (font exception)", "truetype/humor-sans"),
    LineFontFamily("rufscript", "fonts-rufscript", "OFL-1.1", "truetype/rufscript"),
    LineFontFamily("comic-neue", "fonts-comic-neue", "OFL-1.1", "opentype/comic-neue"),
    LineFontFamily("sjfonts", "fonts-sjfonts", "GPL-2", "truetype/sjfonts"),
    LineFontFamily("ebgaramond", "fonts-ebgaramond", "OFL-1.1", "opentype/ebgaramond"),
    LineFontFamily("junicode", "fonts-junicode", "OFL-1.1", "opentype/junicode"),
    LineFontFamily("linux-libertine", "fonts-linuxlibertine", "OFL-1.1 / GPL", "opentype/linux-libertine"),
    LineFontFamily("liberation2", "fonts-liberation2", "OFL-1.1", "truetype/liberation2"),
    LineFontFamily("dejavu", "fonts-dejavu-core", "Bitstream Vera / public domain", "truetype/dejavu"),
    LineFontFamily("freefont", "fonts-freefont-ttf", "GPL-3 (font exception)", "truetype/freefont"),
)
MIN_CHARS = 12
MAX_CHARS = 70


def line_fonts(root: Path = FONT_ROOT) -> list[FontFile]:
    """Every installed face of :data:`LINE_FONT_FAMILIES` (bold and italic faces included)."""
    found = []
    for family in LINE_FONT_FAMILIES:
        folder = root / family.folder
        for path in sorted([*folder.glob("*.ttf"), *folder.glob("*.otf")]) if folder.is_dir() else []:
            found.append(FontFile(path, family.name, ALL))
    return found


def synthetic_text(real_texts: Sequence[str], rng: np.random.Generator) -> str:
    """Half the time a real training line's text, otherwise English words, numbers and codes."""
    if real_texts and rng.random() < 0.5:
        return real_texts[int(rng.integers(len(real_texts)))][:MAX_CHARS].strip()
    words = load_words()
    text = sample_text(words, rng)
    while len(text) < MIN_CHARS:
        text = f"{text} {sample_text(words, rng)}"
    return text[:MAX_CHARS].strip()


def render_line(
    fonts: Sequence[FontFile], real_texts: Sequence[str], rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """One rendered, degraded gray line image and its text."""
    texts = [synthetic_text(real_texts, rng) for _ in range(4)]
    sample = pick_sample(texts, fonts, rng, augment=True)
    return sample.image, sample.text
