"""The real Tesseract engine (tesserocr + Debian's eng.traineddata) on text rendered with DejaVu Sans."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engines.base import CharResult, EngineUnavailable, TextResult
from engines.tesseract import MAX_LINE_HEIGHT, TesseractEngine
from tests.rendering import render

TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
CHARS = ["A", "B", "G", "K", "R", "a", "d", "h", "k", "p", "3", "4", "5", "7", "8"]


@pytest.fixture(scope="module")
def engine() -> Iterator[TesseractEngine]:
    """One engine for the module: tesserocr handles are not thread-safe and are slow to make."""
    tesseract = TesseractEngine(TESSDATA)
    yield tesseract
    tesseract.close()


def noise(seed: int) -> np.ndarray:
    """Salt-and-pepper on a white border: Tesseract finds symbols in it that have no text."""
    rng = np.random.default_rng(seed)
    crop = np.where(rng.random((40, 120)) < 0.5, 0, 255).astype(np.uint8)
    crop[[0, -1], :] = 255
    crop[:, [0, -1]] = 255
    return crop


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("white_on_black", [False, True], ids=["black-on-white", "white-on-black"])
@pytest.mark.parametrize("text", ["hello", "World", "OCR 2024", "Quick brown fox"])
def test_reads_rendered_words_exactly(engine: TesseractEngine, text: str, white_on_black: bool) -> None:
    (result,) = engine.recognize_text([render(text, white_on_black=white_on_black)])
    assert result.text == text


@pytest.mark.parametrize("white_on_black", [False, True], ids=["black-on-white", "white-on-black"])
def test_reads_a_rendered_line_exactly(engine: TesseractEngine, white_on_black: bool) -> None:
    line = "The quick brown fox jumps over 42 lazy dogs"
    (result,) = engine.recognize_text([render(line, white_on_black=white_on_black)])
    assert result.text == line


def test_reads_an_rgb_crop(engine: TesseractEngine) -> None:
    gray = render("Hello world")
    (result,) = engine.recognize_text([np.dstack([gray, gray, gray])])
    assert result.text == "Hello world"


def test_reads_a_line_taller_than_the_height_limit(engine: TesseractEngine) -> None:
    crop = render("Hello world", size=150)
    assert crop.shape[0] > MAX_LINE_HEIGHT
    (result,) = engine.recognize_text([crop])
    assert result.text == "Hello world"


def test_text_result_has_one_confidence_per_character(engine: TesseractEngine) -> None:
    (result,) = engine.recognize_text([render("OCR 2024 works")])
    assert isinstance(result, TextResult)
    assert result.text == "OCR 2024 works"
    assert len(result.char_confidences) == len(result.text)
    assert all(0.0 <= confidence <= 1.0 for confidence in result.char_confidences)
    assert result.confidence > 0.8


def test_text_result_names_engine_and_version(engine: TesseractEngine) -> None:
    (result,) = engine.recognize_text([render("hello")])
    assert (result.engine, result.model_version) == ("tesseract", engine.model_version)
    assert result.elapsed_ms >= 0.0


@pytest.mark.parametrize("shape", [(50, 200), (50, 200, 3)])
def test_blank_crop_reads_as_empty_text(engine: TesseractEngine, shape: tuple[int, ...]) -> None:
    for level in (0, 255):
        (result,) = engine.recognize_text([np.full(shape, level, dtype=np.uint8)])
        assert (result.text, result.char_confidences) == ("", ())


@pytest.mark.parametrize("seed", [0, 1, 3, 7])
def test_noise_gives_a_valid_text_result_not_a_library_error(engine: TesseractEngine, seed: int) -> None:
    # tesserocr raises RuntimeError("No text returned") for empty symbols; the engine must not leak it.
    (result,) = engine.recognize_text([noise(seed)])
    assert len(result.char_confidences) == len(result.text)
    assert all(0.0 <= confidence <= 1.0 for confidence in result.char_confidences)


# --- characters ----------------------------------------------------------------------------


@pytest.mark.parametrize("char", CHARS)
def test_reads_rendered_characters(engine: TesseractEngine, char: str) -> None:
    (result,) = engine.recognize_chars([render(char, size=40)], top_k=5)
    assert isinstance(result, CharResult)
    assert result.top is not None
    assert result.top.char == char
    assert result.top.confidence > 0.5


@pytest.mark.parametrize("char", ["R", "7", "h"])
def test_reads_white_on_black_characters(engine: TesseractEngine, char: str) -> None:
    (result,) = engine.recognize_chars([render(char, size=40, white_on_black=True)])
    assert result.top is not None
    assert result.top.char == char


@pytest.mark.parametrize("char", CHARS)
def test_char_candidates_are_unit_confidences_sorted_best_first(engine: TesseractEngine, char: str) -> None:
    (result,) = engine.recognize_chars([render(char, size=40)], top_k=5)
    confidences = [candidate.confidence for candidate in result.candidates]
    assert all(0.0 <= confidence <= 1.0 for confidence in confidences)
    assert confidences == sorted(confidences, reverse=True)
    chars = [candidate.char for candidate in result.candidates]
    assert len(set(chars)) == len(chars)


@pytest.mark.parametrize("top_k", [1, 2, 3, 5])
def test_char_candidates_respect_top_k(engine: TesseractEngine, top_k: int) -> None:
    crop = render("R", size=40)
    (wide,) = engine.recognize_chars([crop], top_k=10)
    assert len(wide.candidates) > 5
    (result,) = engine.recognize_chars([crop], top_k=top_k)
    assert len(result.candidates) == top_k
    assert result.candidates == wide.candidates[:top_k]


@pytest.mark.parametrize("shape", [(50, 50), (50, 50, 3), (50, 50, 4)])
def test_blank_crop_has_no_char_candidates(engine: TesseractEngine, shape: tuple[int, ...]) -> None:
    for level in (0, 255):
        (result,) = engine.recognize_chars([np.full(shape, level, dtype=np.uint8)])
        assert result.candidates == ()
        assert result.top is None


def test_char_result_names_engine_and_version(engine: TesseractEngine) -> None:
    (result,) = engine.recognize_chars([render("K", size=40)])
    assert (result.engine, result.model_version) == ("tesseract", engine.model_version)


# --- batches -----------------------------------------------------------------------------------


def test_char_batch_equals_one_by_one(engine: TesseractEngine) -> None:
    crops = [render(char, size=40) for char in ("A", "g", "7")] + [np.full((40, 40), 255, dtype=np.uint8)]
    crops.append(render("k", size=40, white_on_black=True))
    batch = engine.recognize_chars(crops, top_k=3)
    single = [engine.recognize_chars([crop], top_k=3)[0] for crop in crops]
    assert len(batch) == len(crops)
    assert [result.candidates for result in batch] == [result.candidates for result in single]


def test_text_batch_equals_one_by_one(engine: TesseractEngine) -> None:
    crops = [render("hello"), render("OCR 2024", white_on_black=True), np.full((30, 90), 255, dtype=np.uint8)]
    crops.append(render("Quick brown fox", size=150))
    batch = engine.recognize_text(crops)
    single = [engine.recognize_text([crop])[0] for crop in crops]
    assert [result.text for result in batch] == ["hello", "OCR 2024", "", "Quick brown fox"]
    assert [(r.text, r.char_confidences) for r in batch] == [(r.text, r.char_confidences) for r in single]


def test_empty_batches_give_empty_lists(engine: TesseractEngine) -> None:
    assert engine.recognize_chars([]) == []
    assert engine.recognize_text([]) == []


def test_recognize_dispatches_on_mode(engine: TesseractEngine) -> None:
    (char,) = engine.recognize([render("B", size=40)], "char", top_k=2)
    assert isinstance(char, CharResult)
    assert len(char.candidates) == 2
    (text,) = engine.recognize([render("hello")], "text")
    assert isinstance(text, TextResult)
    assert text.text == "hello"


# --- construction ------------------------------------------------------------------------------


def test_missing_tessdata_folder_is_unavailable_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tessdata"
    with pytest.raises(EngineUnavailable, match=r"eng\.traineddata not found") as caught:
        TesseractEngine(missing)
    assert str(missing / "eng.traineddata") in str(caught.value)
    assert caught.value.code == "unavailable"


def test_missing_language_is_unavailable_naming_the_file() -> None:
    with pytest.raises(EngineUnavailable, match=r"xyz\.traineddata not found"):
        TesseractEngine(TESSDATA, lang="xyz")


def test_model_version_is_stable_across_instances(engine: TesseractEngine) -> None:
    other = TesseractEngine(TESSDATA)
    try:
        assert other.model_version == engine.model_version
    finally:
        other.close()
    assert re.fullmatch(r"tesseract-\d+\.\d+\.\d+/eng-[0-9a-f]{12}", engine.model_version)


def test_real_handwritten_digits_that_have_no_choice_iterator_still_read(engine) -> None:
    # MNIST test images 14, 302 and 345 make Tesseract return no choice iterator for their symbol;
    # read from the team's shared data at run time (never copied into the repository).
    from evaluation.samples import _mnist
    from training.real import DEFAULT_DATA_DIR

    mnist = DEFAULT_DATA_DIR / "mnist-t10k-part"
    if not mnist.is_dir():
        pytest.skip(f"{mnist} not present (shared data, not in the repo; set OCR_SHARED_DATA)")
    images, _ = _mnist(mnist)
    results = engine.recognize_chars([images[i] for i in (14, 302, 345)])
    assert len(results) == 3
    for result in results:
        assert all(0.0 <= c.confidence <= 1.0 for c in result.candidates)
