"""Synthetic lines for the small TrOCR: text sampling, font fitting, rendering, batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engines.trocr import InputFit
from training.fonts import ALL, NO_LOWER, FontFile
from training.trocr.corpus import CHARSET, MAX_CHARS, load_words, sample_text
from training.trocr.render import fit_text_to_font, pick_sample, render_sample

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT = FontFile(DEJAVU, "dejavu", ALL)


@pytest.fixture()
def words(tmp_path: Path) -> tuple[str, ...]:
    listing = tmp_path / "words"
    listing.write_text("apple\nBoston\nzebra's\ncafé\nquick\n", encoding="utf-8")
    load_words.cache_clear()
    return load_words(listing)


def test_word_list_keeps_plain_ascii_words(words: tuple[str, ...]) -> None:
    assert words == ("Boston", "apple", "quick")


def test_sampled_texts_are_short_printable_and_varied(words: tuple[str, ...]) -> None:
    rng = np.random.default_rng(0)
    texts = [sample_text(words, rng) for _ in range(2000)]
    assert all(0 < len(t) <= MAX_CHARS and t == t.strip() for t in texts)
    assert all(set(t) <= set(CHARSET) for t in texts)
    assert any(any(c.isdigit() for c in t) for t in texts)
    assert any(" " in t for t in texts)
    assert sum(len(t) == 1 for t in texts) > 20  # single characters, for character crops
    assert len(set(texts)) > 1000


def test_text_is_fitted_to_the_case_a_font_draws() -> None:
    capitals = FontFile(DEJAVU, "caps", NO_LOWER)
    assert fit_text_to_font("Hello 42", capitals) == "HELLO 42"
    assert fit_text_to_font("Hello 42", FONT) == "Hello 42"
    assert fit_text_to_font("snow \u2603", FONT) == "snow \u2603"  # DejaVu has a snowman
    assert fit_text_to_font("\u6f22", FONT) is None  # no CJK in DejaVu


def test_rendered_sample_is_dark_ink_on_light_paper() -> None:
    image = render_sample("Invoice 12", FONT, np.random.default_rng(1))
    assert image.dtype == np.uint8 and image.ndim == 2
    assert np.median(image) > 150  # paper
    assert image.min() < 110  # ink


def test_same_seed_same_sample() -> None:
    first = pick_sample(["abc"], [FONT], np.random.default_rng(5))
    again = pick_sample(["abc"], [FONT], np.random.default_rng(5))
    assert first.text == again.text == "abc"
    assert np.array_equal(first.image, again.image)


def test_collate_masks_padding_and_ends_every_label() -> None:
    pytest.importorskip("transformers")
    from training.trocr.build import ModelSpec, build_processor, train_tokenizer
    from training.trocr.data import collate, fixed_set

    spec = ModelSpec.tiny()
    tokenizer = train_tokenizer(["hello world", "42", CHARSET], vocab_size=280)
    processor = build_processor(tokenizer, spec)
    fit = InputFit(True, spec.image_width / spec.image_height)
    items = fixed_set(("hello", "world"), [FONT], fit, count=4, seed=3)
    batch = collate(items, processor)
    assert tuple(batch["pixel_values"].shape) == (4, 3, spec.image_height, spec.image_width)
    for row, item in zip(batch["labels"].tolist(), items, strict=True):
        ids = [i for i in row if i != -100]
        assert ids[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(ids[:-1]) == item.text


def test_handwritten_words_are_composed_from_held_out_glyphs() -> None:
    from evaluation.samples import handwritten_words
    from training.real import DEFAULT_DATA_DIR

    if not (DEFAULT_DATA_DIR / "mnist-t10k-part").is_dir():
        pytest.skip(f"{DEFAULT_DATA_DIR} not present (shared data, not in the repo)")
    words = handwritten_words(DEFAULT_DATA_DIR, 6, seed=0)
    assert [source for _, _, source in words] == ["mnist", "comnist"] * 3
    for image, text, source in words:
        assert text.isdigit() if source == "mnist" else text.isalpha() and text.isupper()
        assert image.dtype == np.uint8 and np.median(image) == 255  # dark ink on white paper
        assert image.min() < 100
        # Each glyph is about as wide as it is tall: the line grows with the text.
        assert image.shape[1] > 12 * len(text)
    assert handwritten_words(DEFAULT_DATA_DIR, 6, seed=0)[1][1] == words[1][1]  # seeded


def test_ctc_head_reads_the_encoder_columns_and_learns() -> None:
    torch = pytest.importorskip("torch")
    from training.trocr.ctc_aux import ColumnCtcHead

    torch.manual_seed(0)
    head = ColumnCtcHead(hidden_size=16, rows=2)
    states = torch.randn(3, 1 + 2 * 20, 16, requires_grad=True)  # CLS + 2 rows of 20 columns
    texts = ["ab", "Hello", "7"]
    first = head(states, texts)
    assert first.ndim == 0 and torch.isfinite(first)
    first.backward()
    assert states.grad is not None and states.grad[:, 0].abs().sum() == 0  # the CLS token is not read
    optimizer = torch.optim.Adam([*head.parameters(), states], lr=0.05)
    for _ in range(60):
        optimizer.zero_grad()
        loss = head(states, texts)
        loss.backward()
        optimizer.step()
    assert float(loss) < 0.5 * float(first)
