"""The line recognizer adapter with the shipped model, on real lines from ../shared/data (no fakes)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from engines.base import EngineUnavailable
from engines.line_reader import LineReaderEngine
from evaluation.manifest import load_items
from evaluation.realdata import in_final_check
from tests.rendering import corpus_cer, render
from training.real import DEFAULT_DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "models" / "line_reader" / "v1"
SHARED = DEFAULT_DATA_DIR


@pytest.fixture(scope="module")
def engine() -> LineReaderEngine:
    return LineReaderEngine(MODEL_DIR)


def _real_lines(group: str, count: int) -> list[tuple[np.ndarray, str]]:
    """Kept-apart lines of one real-fit group (never trained on), read as the worker would get them."""
    manifest = SHARED / "real-fit" / "manifest.tsv"
    if not manifest.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{manifest} is missing")
        pytest.skip(f"{manifest} is missing")
    items = [i for i in load_items(manifest) if i.groups.get("group") == group and in_final_check(i, 0.2)]
    return [(np.asarray(Image.open(i.path).convert("RGB")), i.truth) for i in items[:count]]


def test_reads_real_printed_lines(engine: LineReaderEngine) -> None:
    # German Fraktur and Antiqua prints, French typescripts the model never trained on.
    assert corpus_cer(engine, _real_lines("printed-line", 30)) < 0.06


def test_reads_real_handwritten_lines(engine: LineReaderEngine) -> None:
    # French wills and notaries' registers of hands the model never saw (PP-OCR alone: about 33%).
    assert corpus_cer(engine, _real_lines("handwritten", 20)) < 0.33


def test_result_shape_confidences_and_word_boxes(engine: LineReaderEngine) -> None:
    crop = render("Deliver 250 boxes", size=32)
    result = engine.recognize_text([crop])[0]
    assert result.text == "Deliver 250 boxes"
    assert result.engine == "line_reader" and result.model_version.startswith("line_reader/v1-")
    assert len(result.char_confidences) == len(result.text)
    assert all(0.0 <= c <= 1.0 for c in result.char_confidences)
    assert [w.text for w in result.words] == ["Deliver", "250", "boxes"]
    lefts = [w.box[0] for w in result.words]
    assert lefts == sorted(lefts)
    for word in result.words:
        left, top, right, bottom = word.box
        assert 0 <= left < right <= crop.shape[1] and 0 <= top < bottom <= crop.shape[0]


def test_white_on_black_reads_the_same(engine: LineReaderEngine) -> None:
    crop = render("Quiet harbour 1887", size=30)
    assert engine.recognize_text([255 - crop])[0].text == engine.recognize_text([crop])[0].text


def test_blank_crop_reads_nothing_and_batch_equals_one_by_one(engine: LineReaderEngine) -> None:
    crops = [
        np.full((40, 200), 255, np.uint8),
        render("one two", size=28),
        render("three", size=28),
        render("four", size=28),
    ]
    batched = engine.recognize_text(crops)
    single = [engine.recognize_text([crop])[0] for crop in crops]
    assert (batched[0].text, batched[0].char_confidences) == ("", ())
    assert [r.text for r in batched] == [r.text for r in single]
    for a, b in zip(batched, single, strict=True):
        assert np.allclose(a.char_confidences, b.char_confidences, atol=1e-5)


def test_char_mode_ranks_the_62_classes(engine: LineReaderEngine) -> None:
    results = engine.recognize_chars(
        [render("A", size=40), render("7", size=40), np.full((30, 30), 255, np.uint8)], top_k=3
    )
    assert [r.top.char for r in results[:2] if r.top] == ["A", "7"]
    assert results[2].candidates == ()
    for result in results[:2]:
        confidences = [c.confidence for c in result.candidates]
        assert confidences == sorted(confidences, reverse=True)
        assert all(len(c.char) == 1 and c.char.isascii() and c.char.isalnum() for c in result.candidates)


def _model_copy(tmp_path: Path, edit: Callable[[dict[str, Any]], object]) -> Path:
    """A copy of the shipped model folder whose metadata.json ``edit`` changed."""
    copy = tmp_path / "v1"
    shutil.copytree(MODEL_DIR, copy)
    metadata = json.loads((copy / "metadata.json").read_text())
    edit(metadata)
    (copy / "metadata.json").write_text(json.dumps(metadata))
    return copy


def _with_metadata_input(tmp_path: Path, **changes: object) -> Path:
    """A copy of the shipped model folder whose metadata.json ``input`` has ``changes``."""
    return _model_copy(tmp_path, lambda metadata: metadata["input"].update(changes))


def test_a_model_file_that_does_not_match_its_digest_is_refused(tmp_path: Path) -> None:
    copy = _model_copy(tmp_path, lambda metadata: metadata["files"]["model.onnx"].update(sha256="0" * 64))
    with pytest.raises(EngineUnavailable, match="does not match"):
        LineReaderEngine(copy)
    with pytest.raises(EngineUnavailable, match="not found"):
        LineReaderEngine(tmp_path / "missing")


def test_word_boxes_follow_a_line_squeezed_to_the_widest_input(engine: LineReaderEngine) -> None:
    crop = render(" ".join(["harbour"] * 40), size=20, pad=2)
    assert crop.shape[1] > 50 * crop.shape[0]  # wider than MAX_WIDTH once scaled: squeezed
    words = engine.recognize_text([crop])[0].words
    assert len(words) == 40
    # Forty copies of one word: every box about as wide as the others (a wrong scale piles them up).
    widths = np.array([w.box[2] - w.box[0] for w in words])
    assert (widths > 0.6 * np.median(widths)).all() and (widths < 1.4 * np.median(widths)).all(), widths


def test_the_width_scale_is_read_from_metadata_and_named_in_the_version(tmp_path: Path) -> None:
    plain = LineReaderEngine(_with_metadata_input(tmp_path / "a", width_scale=1.0))
    wide = LineReaderEngine(_with_metadata_input(tmp_path / "b", width_scale=1.5))
    assert "-w" not in plain.model_version and wide.model_version.endswith("-w1.5")
    crop = render("Harbour master 1887", size=30)
    plain_result, wide_result = plain.recognize_text([crop])[0], wide.recognize_text([crop])[0]
    assert plain_result.text == wide_result.text == "Harbour master 1887"
    # The stretched input has more time steps, yet every word box stays on the crop, in the same place.
    for a, b in zip(plain_result.words, wide_result.words, strict=True):
        assert abs(a.box[0] - b.box[0]) <= 12 and abs(a.box[2] - b.box[2]) <= 12
        assert 0 <= b.box[0] < b.box[2] <= crop.shape[1]
    # The scale was chosen on lines: a lone character is read as it is either way.
    glyphs = [render("A", size=40), render("7", size=40)]
    plain_chars, wide_chars = plain.recognize_chars(glyphs), wide.recognize_chars(glyphs)
    assert [r.candidates for r in plain_chars] == [r.candidates for r in wide_chars]
    assert [r.top.char for r in wide_chars if r.top] == ["A", "7"]


@pytest.mark.parametrize("scale", [0.2, 5, "wide"])
def test_a_width_scale_out_of_range_is_refused(tmp_path: Path, scale: object) -> None:
    with pytest.raises(EngineUnavailable, match="width_scale"):
        LineReaderEngine(_with_metadata_input(tmp_path, width_scale=scale))


def test_choose_width_writes_a_scale_the_engine_reads(tmp_path: Path) -> None:
    from training.lines.choose_width import with_width_scale, write_width_scale

    shipped = (MODEL_DIR / "metadata.json").read_bytes()
    linked = with_width_scale(MODEL_DIR, 1.25, tmp_path / "w")
    assert (linked / "model.onnx").is_symlink()
    assert LineReaderEngine(linked).model_version.endswith("-w1.25")
    write_width_scale(linked / "metadata.json", 1.1)
    assert json.loads((linked / "metadata.json").read_text())["input"]["width_scale"] == 1.1
    assert (MODEL_DIR / "metadata.json").read_bytes() == shipped  # the model folder itself is untouched
