"""Tesseract with Debian's German (and Fraktur) and French data, on real lines from ../shared/data kept apart."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.languages_real import split
from engines.tesseract import TesseractEngine
from tests.rendering import corpus_cer, render
from training.real import DEFAULT_DATA_DIR

TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
NEEDED = ("eng", "deu", "frk", "Fraktur", "fra")


@pytest.fixture(scope="module")
def engine() -> Iterator[TesseractEngine]:
    missing = [name for name in NEEDED if not (TESSDATA / f"{name}.traineddata").is_file()]
    if missing:
        pytest.fail(f"Tesseract data missing: {missing}; bash deploy/local/system-deps.sh installs it")
    tesseract = TesseractEngine(TESSDATA)
    yield tesseract
    tesseract.close()


def _kept_apart(part: str, group: str, count: int) -> list[tuple[np.ndarray, str]]:
    if not (DEFAULT_DATA_DIR / "real-fit" / "manifest.tsv").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{DEFAULT_DATA_DIR}/real-fit is missing")
        pytest.skip(f"{DEFAULT_DATA_DIR}/real-fit is missing")
    items = [item for item in split(DEFAULT_DATA_DIR)[part] if item.groups["group"] == group][:count]
    return [(np.asarray(Image.open(item.path).convert("RGB")), item.truth) for item in items]


def test_german_reads_with_the_german_and_fraktur_data(engine: TesseractEngine) -> None:
    german = engine.for_languages(("deu",))
    assert "/frk+Fraktur+deu-" in german.model_version and german.model_version != engine.model_version
    assert engine.for_languages(("deu",)) is german  # made once, kept
    assert engine.for_languages(("eng",)) is engine


def test_real_german_prints_read_far_better_in_german(engine: TesseractEngine) -> None:
    # 19th-century Fraktur and Antiqua lines (fitting part: eng 13.6% CER, frk+Fraktur+deu 2.3%).
    lines = _kept_apart("final_deu", "printed-line", 30)
    english, german = corpus_cer(engine, lines), corpus_cer(engine.for_languages(("deu",)), lines)
    assert german < 0.06
    assert german < 0.5 * english


def test_real_french_typescripts_read_better_in_french(engine: TesseractEngine) -> None:
    # Typewritten French (fitting part: eng 10.0% CER, fra 8.6%): accents are letters, not noise.
    lines = _kept_apart("final_fra", "printed-line", 25)
    assert corpus_cer(engine.for_languages(("fra",)), lines) < corpus_cer(engine, lines)


def test_umlauts_and_accents_are_written_only_with_their_language(engine: TesseractEngine) -> None:
    (german,) = engine.for_languages(("deu",)).recognize_text([render("Größe über Maß")])
    (french,) = engine.for_languages(("fra",)).recognize_text([render("élève à côté")])
    assert german.text == "Größe über Maß"
    assert french.text == "élève à côté"
