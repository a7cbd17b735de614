"""The real PP-OCR engine (rapidocr's ONNX models on onnxruntime) on text rendered with DejaVu Sans."""

from __future__ import annotations

import itertools
import re
import string
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import rapidocr
from PIL import Image, ImageDraw, ImageFont

from engines.base import Box, CharResult, EngineUnavailable, TextResult
from engines.ctc import CHAR_CLASSES, LATIN_TEXT
from engines.layout import reading_order
from engines.paddleocr import GLYPH_WIDTH, REC_BATCH, PaddleOcrEngine
from tests.rendering import FONT, cer, contains, render, render_page

REC_MODEL = Path(rapidocr.__file__).parent / "models" / "PP-OCRv6_rec_small.onnx"
# Letters and digits whose shape alone tells them apart: no O/0/o, l/I/1, s/S, c/C, x/X, v/V, w/W, z/Z.
CHARS = ["A", "B", "G", "K", "R", "E", "k", "b", "d", "h", "p", "g", "3", "4", "7", "8"]
LINE = "The quick brown fox jumps over 42 lazy dogs"
PAGE = [
    "Invoice number 4821 dated March 2024",
    "Ship the parcel to Bergstrasse 17",
    "Total amount due: 356.90 EUR",
    "Please pay within thirty days",
    "Thank you for your business",
]
GREEK_WORDS = "\u03a9\u03bc\u03ad\u03b3\u03b1 \u03bb\u03cc\u03b3\u03bf\u03c2"  # "Omega logos" in Greek letters
GREEK_CAPITALS = "\u0391\u0392\u0393\u0394 \u0395\u0396\u0397"  # alpha to eta, Latin look-alikes among them
WORD_TOLERANCE = 4  # pixels between a word box and the drawn word's textbbox
CAPITALS_AND_DIGITS = string.ascii_uppercase + string.digits


@pytest.fixture(scope="module")
def engine() -> PaddleOcrEngine:
    """One engine for the module: the three ONNX sessions take a second to load."""
    return PaddleOcrEngine()


def render_words(text: str, size: int, pad: int) -> tuple[np.ndarray, list[Box], list[np.ndarray]]:
    """A line crop, each word's textbbox as drawn, and each word's own ink mask in crop coordinates."""
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    draw = ImageDraw.Draw(image)
    origin = (pad - left, pad - top)
    draw.text(origin, text, font=font, fill=0)
    boxes, inks = [], []
    for match in re.finditer(r"\S+", text):
        at = (origin[0] + draw.textlength(text[: match.start()], font=font), origin[1])
        boxes.append(tuple(round(v) for v in draw.textbbox(at, match.group(), font=font)))
        alone = Image.new("L", image.size, 255)
        ImageDraw.Draw(alone).text(at, match.group(), font=font, fill=0)
        inks.append(np.asarray(alone) < 128)
    return np.asarray(image, dtype=np.uint8), boxes, inks


@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, list[Box]]:
    return render_page(PAGE)


@pytest.fixture(scope="module")
def detected(engine: PaddleOcrEngine, page: tuple[np.ndarray, list[Box]]) -> list[Box]:
    return engine.detect_lines(page[0])


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("white_on_black", [False, True], ids=["black-on-white", "white-on-black"])
@pytest.mark.parametrize("text", ["hello", "World", "OCR 2024", "Quick brown fox"])
def test_reads_rendered_words_exactly(engine: PaddleOcrEngine, text: str, white_on_black: bool) -> None:
    (result,) = engine.recognize_text([render(text, white_on_black=white_on_black)])
    assert result.text == text


@pytest.mark.parametrize("white_on_black", [False, True], ids=["black-on-white", "white-on-black"])
def test_reads_a_rendered_line_exactly(engine: PaddleOcrEngine, white_on_black: bool) -> None:
    (result,) = engine.recognize_text([render(LINE, white_on_black=white_on_black)])
    assert result.text == LINE


@pytest.mark.parametrize("text", ["Café naïve résumé", "Straße 5 \u2013 10 €"])
def test_reads_accented_latin_and_typographic_symbols(engine: PaddleOcrEngine, text: str) -> None:
    (result,) = engine.recognize_text([render(text)])
    assert result.text == text


def test_reads_an_rgb_crop(engine: PaddleOcrEngine) -> None:
    gray = render("Hello world")
    (result,) = engine.recognize_text([np.dstack([gray, gray, gray])])
    assert result.text == "Hello world"


def test_text_result_has_one_unit_confidence_per_character(engine: PaddleOcrEngine) -> None:
    (result,) = engine.recognize_text([render("OCR 2024 works")])
    assert isinstance(result, TextResult)
    assert result.text == "OCR 2024 works"
    assert len(result.char_confidences) == len(result.text)
    assert all(0.0 <= confidence <= 1.0 for confidence in result.char_confidences)
    assert result.confidence > 0.8


def test_text_result_names_engine_and_version(engine: PaddleOcrEngine) -> None:
    (result,) = engine.recognize_text([render("hello")])
    assert (result.engine, result.model_version) == ("paddleocr", engine.model_version)
    assert result.elapsed_ms >= 0.0


@pytest.mark.parametrize("text", [GREEK_WORDS, "x² ≥ √y ∞", GREEK_CAPITALS, LINE, "Total: 356.90 EUR"])
def test_text_mode_only_outputs_latin_text_characters(engine: PaddleOcrEngine, text: str) -> None:
    (result,) = engine.recognize_text([render(text)])
    assert set(result.text) <= set(LATIN_TEXT), result.text


def test_without_the_charset_the_model_answers_greek_with_greek(engine: PaddleOcrEngine) -> None:
    # Shows the Latin-only check above can fail: the unrestricted model does read Greek letters.
    unrestricted = PaddleOcrEngine(charset=None)
    (result,) = unrestricted.recognize_text([render(GREEK_WORDS)])
    assert set(result.text) - set(LATIN_TEXT), result.text


@pytest.mark.parametrize("shape", [(50, 200), (50, 200, 3)])
@pytest.mark.parametrize("level", [0, 255])
def test_blank_crop_reads_as_empty_text(engine: PaddleOcrEngine, shape: tuple[int, ...], level: int) -> None:
    (result,) = engine.recognize_text([np.full(shape, level, dtype=np.uint8)])
    assert (result.text, result.char_confidences, result.words) == ("", (), ())


# --- word boxes ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [LINE, "we met at 9 am", "Invoice 4821 Bergstrasse 17", "MAXIMUM WIDTH"])
def test_word_texts_are_the_text_split_on_spaces(engine: PaddleOcrEngine, text: str) -> None:
    (result,) = engine.recognize_text([render(text, size=28)])
    assert result.text == text
    assert [word.text for word in result.words] == result.text.split()
    assert all(0.0 <= word.confidence <= 1.0 for word in result.words)


@pytest.mark.parametrize("pad", [0, 12], ids=["tight", "padded"])
@pytest.mark.parametrize("size", [20, 40])
@pytest.mark.parametrize("text", [LINE, "we met at 9 am", "Hi to me"])
def test_word_boxes_lie_in_the_crop_and_hold_their_words_ink(
    engine: PaddleOcrEngine, text: str, size: int, pad: int
) -> None:
    crop, drawn, inks = render_words(text, size, pad)
    (result,) = engine.recognize_text([crop])
    assert [word.text for word in result.words] == text.split()
    height, width = crop.shape
    for word, box, ink in zip(result.words, drawn, inks, strict=True):
        left, top, right, bottom = word.box
        assert 0 <= left < right <= width and 0 <= top < bottom <= height, (word, crop.shape)
        inside = ink[top:bottom, left:right].sum() / ink.sum()
        assert inside >= 0.95, (word, box, inside)
        assert contains(box, word.box, slack=WORD_TOLERANCE), (word, box)
        assert contains(word.box, box, slack=WORD_TOLERANCE), (word, box)


def test_word_boxes_run_left_to_right_without_overlapping(engine: PaddleOcrEngine) -> None:
    (result,) = engine.recognize_text([render(LINE, size=28)])
    boxes = [word.box for word in result.words]
    assert len(boxes) == len(LINE.split())
    assert all(before[2] <= after[0] for before, after in itertools.pairwise(boxes))


def test_word_boxes_follow_the_crop_when_the_text_is_inverted(engine: PaddleOcrEngine) -> None:
    crop, _, _ = render_words(LINE, 28, 12)
    (dark,) = engine.recognize_text([crop])
    (light,) = engine.recognize_text([255 - crop])
    assert [(w.text, w.box) for w in light.words] == [(w.text, w.box) for w in dark.words]


# --- page layout ---------------------------------------------------------------------------


def test_detect_lines_finds_one_box_per_printed_line(detected: list[Box], page: tuple[np.ndarray, list[Box]]) -> None:
    image, inks = page
    assert len(detected) == len(PAGE)
    height, width = image.shape
    for box in detected:
        assert 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height
    for ink in inks:
        holders = [box for box in detected if contains(box, ink)]
        assert len(holders) == 1, (ink, detected)


def test_detected_lines_read_in_reading_order_give_the_page_text(
    engine: PaddleOcrEngine, detected: list[Box], page: tuple[np.ndarray, list[Box]]
) -> None:
    image = page[0]
    boxes = [detected[i] for i in reading_order(detected)]
    results = engine.recognize_text([image[top:bottom, left:right] for left, top, right, bottom in boxes])
    assert len(results) == len(PAGE)
    for result, expected in zip(results, PAGE, strict=True):
        assert cer(result.text, expected) <= 0.05, (result.text, expected)


def test_word_boxes_of_detected_line_crops_lie_inside_the_crops(
    engine: PaddleOcrEngine, detected: list[Box], page: tuple[np.ndarray, list[Box]]
) -> None:
    crops = [page[0][top:bottom, left:right] for left, top, right, bottom in detected]
    for crop, result in zip(crops, engine.recognize_text(crops), strict=True):
        assert [word.text for word in result.words] == result.text.split()
        for word in result.words:
            assert contains((0, 0, crop.shape[1], crop.shape[0]), word.box), (word, crop.shape)


def test_blank_page_has_no_lines(engine: PaddleOcrEngine) -> None:
    assert engine.detect_lines(np.full((200, 300), 255, dtype=np.uint8)) == []


# --- characters ----------------------------------------------------------------------------


@pytest.mark.parametrize("char", CHARS)
def test_reads_rendered_characters(engine: PaddleOcrEngine, char: str) -> None:
    (result,) = engine.recognize_chars([render(char, size=40)], top_k=5)
    assert isinstance(result, CharResult)
    assert result.top is not None
    assert result.top.char == char
    assert result.top.confidence > 0.5


@pytest.mark.parametrize("size", [24, 48, 96])
@pytest.mark.parametrize("pad", [0, 8, 60], ids=["tight", "margin", "wide-margin"])
def test_reads_clean_single_capitals_and_digits(engine: PaddleOcrEngine, size: int, pad: int) -> None:
    # A lone glyph is read with a margin of paper whatever the client sent: cropped to the ink (it touches
    # the edges) or with paper around it. A line recogniser given the glyph without one reads it as a
    # fragment (ENGINES.md, 2026-12-06); I/1 and O/0 are the only pairs a clean font leaves in doubt.
    crops = [render(char, size=size, pad=pad) for char in CAPITALS_AND_DIGITS]
    results = engine.recognize_chars(crops, top_k=1)
    misread = {
        char: result.top.char if result.top else None
        for char, result in zip(CAPITALS_AND_DIGITS, results, strict=True)
        if result.top is None or result.top.char != char
    }
    assert len(misread) <= 0.1 * len(CAPITALS_AND_DIGITS), misread


@pytest.mark.parametrize("char", ["R", "7", "h", "G"])
def test_reads_white_on_black_characters(engine: PaddleOcrEngine, char: str) -> None:
    (result,) = engine.recognize_chars([render(char, size=40, white_on_black=True)])
    assert result.top is not None
    assert result.top.char == char


@pytest.mark.parametrize("char", [*CHARS, "%", "&", "é", "Ω", "?"])
def test_char_candidates_are_ranked_unit_confidences_from_the_62_classes(engine: PaddleOcrEngine, char: str) -> None:
    (result,) = engine.recognize_chars([render(char, size=40)], top_k=5)
    assert result.candidates
    chars = [candidate.char for candidate in result.candidates]
    confidences = [candidate.confidence for candidate in result.candidates]
    assert set(chars) <= set(CHAR_CLASSES)
    assert len(set(chars)) == len(chars)
    assert all(0.0 <= confidence <= 1.0 for confidence in confidences)
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) <= 1.0 + 1e-6


@pytest.mark.parametrize("top_k", [1, 2, 3, 5])
def test_char_candidates_respect_top_k(engine: PaddleOcrEngine, top_k: int) -> None:
    crop = render("k", size=40)
    (wide,) = engine.recognize_chars([crop], top_k=10)
    assert len(wide.candidates) == 10
    (result,) = engine.recognize_chars([crop], top_k=top_k)
    assert len(result.candidates) == top_k
    assert result.candidates == wide.candidates[:top_k]


@pytest.mark.parametrize("shape", [(50, 50), (50, 50, 3), (50, 50, 4)])
@pytest.mark.parametrize("level", [0, 255])
def test_blank_crop_has_no_char_candidates(engine: PaddleOcrEngine, shape: tuple[int, ...], level: int) -> None:
    (result,) = engine.recognize_chars([np.full(shape, level, dtype=np.uint8)])
    assert result.candidates == ()
    assert result.top is None


def test_char_result_names_engine_and_version(engine: PaddleOcrEngine) -> None:
    (result,) = engine.recognize_chars([render("K", size=40)])
    assert (result.engine, result.model_version) == ("paddleocr", engine.model_version)
    assert result.elapsed_ms >= 0.0


# --- batches -----------------------------------------------------------------------------------


def test_char_batch_equals_one_by_one(engine: PaddleOcrEngine) -> None:
    # More crops than one recogniser batch holds, with a blank one in the middle.
    crops = [render(char, size=40, white_on_black=i % 3 == 0) for i, char in enumerate("AkG7RbdhK")]
    crops.insert(4, np.full((40, 40), 0, dtype=np.uint8))
    crops.append(render("W", size=90))
    # A glyph wider than the 128-px glyph input at the recogniser's height is padded on its own.
    wide = render("M", size=40)
    crops.append(np.asarray(Image.fromarray(wide).resize((wide.shape[1] * 4, wide.shape[0]))))
    assert len(crops) > REC_BATCH
    batch = engine.recognize_chars(crops, top_k=3)
    single = [engine.recognize_chars([crop], top_k=3)[0] for crop in crops]
    assert len(batch) == len(crops)
    for together, alone in zip(batch, single, strict=True):
        assert [c.char for c in together.candidates] == [c.char for c in alone.candidates]
        for a, b in zip(together.candidates, alone.candidates, strict=True):
            assert a.confidence == pytest.approx(b.confidence, abs=1e-4)


def test_text_batch_equals_one_by_one(engine: PaddleOcrEngine) -> None:
    # Short and long crops: each must read as it does alone, whatever it is batched with.
    texts = ["hello", "OCR 2024", "Quick brown fox", LINE, "A", "Hi", "we met at 9 am", "Invoice 4821", "ok"]
    crops = [render(text, size=20 + 4 * i, white_on_black=i % 2 == 1) for i, text in enumerate(texts)]
    crops.insert(3, np.full((30, 90), 255, dtype=np.uint8))
    crops.append(render("Total: 356.90 EUR", size=26))
    batch = engine.recognize_text(crops)
    single = [engine.recognize_text([crop])[0] for crop in crops]
    assert [r.text for r in batch] == [*texts[:3], "", *texts[3:], "Total: 356.90 EUR"]
    for together, alone in zip(batch, single, strict=True):
        assert together.text == alone.text
        assert together.char_confidences == pytest.approx(alone.char_confidences, abs=1e-4)
        assert [(w.text, w.box) for w in together.words] == [(w.text, w.box) for w in alone.words]


def test_empty_batches_give_empty_lists(engine: PaddleOcrEngine) -> None:
    assert engine.recognize_chars([]) == []
    assert engine.recognize_text([]) == []


def test_recognize_dispatches_on_mode(engine: PaddleOcrEngine) -> None:
    (char,) = engine.recognize([render("B", size=40)], "char", top_k=2)
    assert isinstance(char, CharResult)
    assert len(char.candidates) == 2
    (text,) = engine.recognize([render("hello")], "text")
    assert isinstance(text, TextResult)
    assert text.text == "hello"


# --- construction ------------------------------------------------------------------------------


def test_missing_model_file_is_unavailable_naming_the_path() -> None:
    missing = Path("/nonexistent.onnx")
    with pytest.raises(EngineUnavailable, match="not found") as caught:
        PaddleOcrEngine(model_paths={"rec": missing})
    assert str(missing) in str(caught.value)
    assert caught.value.code == "unavailable"


def test_unknown_model_kind_is_unavailable() -> None:
    with pytest.raises(EngineUnavailable, match="recognizer"):
        PaddleOcrEngine(model_paths={"recognizer": REC_MODEL})


def test_model_file_that_is_not_onnx_is_unavailable(tmp_path: Path) -> None:
    broken = tmp_path / "rec.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(EngineUnavailable, match="could not be loaded"):
        PaddleOcrEngine(model_paths={"rec": broken})


def test_explicit_model_path_loads_and_reads() -> None:
    (result,) = PaddleOcrEngine(model_paths={"rec": REC_MODEL}).recognize_text([render("hello")])
    assert result.text == "hello"


def test_model_version_is_stable_across_instances(engine: PaddleOcrEngine) -> None:
    assert PaddleOcrEngine().model_version == engine.model_version
    assert engine.model_version.startswith(f"rapidocr-{metadata.version('rapidocr')}/")
    # The glyph input changes what a character reads as: results cached with another one are not served.
    assert engine.model_version.endswith(f"/glyph{GLYPH_WIDTH}")
