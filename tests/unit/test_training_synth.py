"""Synthetic glyphs: every class covered, deterministic from the seed, the fonts' split respected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.augment import AugmentConfig, distort
from training.classes import CLASSES
from training.fonts import FAMILIES, installed_fonts, packages
from training.synth import render_char, render_clean, synthesize


@pytest.fixture(scope="module")
def fonts() -> list:
    found = installed_fonts(held_out=False)
    if not found:
        pytest.skip("no training font installed (deploy/local/system-deps.sh test)")
    return found


def test_every_class_has_a_training_font(fonts: list) -> None:
    assert all(any(char in font.chars for font in fonts) for char in CLASSES)


def test_generator_covers_all_62_classes(fonts: list) -> None:
    glyphs = synthesize(fonts, per_class=2, seed=7)
    assert glyphs.images.shape == (124, 28, 28) and glyphs.images.dtype == np.uint8
    assert np.array_equal(np.bincount(glyphs.labels, minlength=62), np.full(62, 2))
    # White ink on black, something drawn in every glyph.
    assert (glyphs.images.reshape(124, -1).max(axis=1) > 128).all()
    assert (glyphs.images[:, 0, :].max(axis=1) < 64).all()


def test_generator_is_deterministic_for_a_seed(fonts: list) -> None:
    first = synthesize(fonts, per_class=1, seed=3, chars="aB7")
    again = synthesize(fonts, per_class=1, seed=3, chars="aB7")
    other = synthesize(fonts, per_class=1, seed=4, chars="aB7")
    assert np.array_equal(first.images, again.images)
    assert not np.array_equal(first.images, other.images)


def test_held_out_fonts_never_train() -> None:
    training = {f.family for f in installed_fonts(held_out=False)}
    held_out = {f.name for f in FAMILIES if f.held_out}
    assert not training & held_out
    assert held_out and set(packages(held_out=True)) <= set(packages())


def test_fonts_that_draw_small_capitals_do_not_teach_lowercase() -> None:
    small_caps = {"because-we", "humor-sans"}
    assert all(not set("abc") & set(f.chars) for f in FAMILIES if f.name in small_caps)


def test_clean_rendering_has_one_glyph_per_font_and_class(fonts: list) -> None:
    dejavu = [f for f in fonts if f.family == "dejavu"][:1]
    if not dejavu:
        pytest.skip("DejaVu is not installed")
    rendered = render_clean(dejavu, sizes=(24, 64))
    assert len(rendered) == 124 and sorted(set(rendered.labels.tolist())) == list(range(62))


def test_augmentation_keeps_the_glyph_on_the_canvas(fonts: list) -> None:
    image = render_char(fonts[0], "W")
    for seed in range(5):
        out = distort(image, np.random.default_rng(seed), AugmentConfig())
        assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
        ink = out > 0.5
        assert ink.any()
        # Nothing touches the border: the padding left room for rotation, shear and elastic moves.
        assert not (ink[0].any() or ink[-1].any() or ink[:, 0].any() or ink[:, -1].any())


def test_system_deps_install_every_font_package() -> None:
    script = (Path(__file__).resolve().parents[2] / "deploy" / "local" / "system-deps.sh").read_text()
    assert [package for package in packages() if package not in script] == []
