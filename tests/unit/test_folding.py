# ruff: noqa: RUF001 - the long s is what these tests are about
"""Letter forms folded on request (ensemble.folding); by default a reading keeps what is on the page."""

from __future__ import annotations

import pytest

from engines.base import CharCandidate, CharResult, TextResult, Word
from ensemble.folding import fold_result, fold_text


def _conf(text: str) -> list[float]:
    return [round(0.5 + i / 100, 2) for i in range(len(text))]


@pytest.mark.parametrize(
    ("folds", "expected"),
    [
        ((), "Geſchichte der ﬃrma, ſchoͤn ꝛc⸗ café"),
        (("long_s",), "Geschichte der ﬃrma, schoͤn ꝛc⸗ café"),
        (("ligatures",), "Geſchichte der ffirma, ſchoͤn ꝛc⸗ café"),
        (("historical",), "Geſchichte der ﬃrma, ſchön rc- café"),
        (("diacritics",), "Geſchichte der ﬃrma, ſchon ꝛc⸗ cafe"),
        (("long_s", "ligatures", "historical", "diacritics"), "Geschichte der ffirma, schon rc- cafe"),
    ],
)
def test_each_fold_replaces_only_its_forms(folds: tuple[str, ...], expected: str) -> None:
    text = "Geſchichte der ﬃrma, ſchoͤn ꝛc⸗ café"
    folded, confidences = fold_text(text, _conf(text), folds)
    assert folded == expected
    assert len(confidences) == len(folded)


def test_confidences_follow_their_characters() -> None:
    text = "aﬁo\u0364"
    folded, confidences = fold_text(text, [0.9, 0.6, 0.8, 0.3], ("ligatures", "historical"))
    assert folded == "afiö"
    assert confidences == (0.9, 0.6, 0.6, 0.3)  # the ligature's for both letters; the umlaut its weaker part


def test_a_text_reading_is_folded_with_its_words() -> None:
    reading = TextResult("tesseract", "v", "ſo", (0.9, 0.8), 1.0, (Word("ſo", 0.85, (0, 0, 10, 10)),))
    folded = fold_result(reading, ("long_s",))
    assert isinstance(folded, TextResult)
    assert folded.text == "so" and folded.words[0].text == "so" and folded.words[0].box == (0, 0, 10, 10)
    assert fold_result(reading, ()) is reading


def test_character_candidates_that_fold_together_keep_the_best() -> None:
    reading = CharResult("paddleocr", "v", (CharCandidate("é", 0.5), CharCandidate("e", 0.3), CharCandidate("f", 0.1)))
    folded = fold_result(reading, ("diacritics",))
    assert isinstance(folded, CharResult)
    assert folded.candidates == (CharCandidate("e", 0.5), CharCandidate("f", 0.1))
