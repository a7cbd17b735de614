"""What every exporter needs beyond the model: a line's words, each with a box, and small formatting helpers.

hOCR's ``ocrx_word`` needs a bbox, and ALTO's ``String`` and PAGE's ``Word`` are read by most consumers as
located. So a word the engines did not locate (``Word.box is None``) gets an *estimated* box: its share of
the free stretch of the line around it (between the neighbouring located words, or the line's ends), split
by character count with one character for each space between words, over the line's full height. The
estimate is not marked in the output: none of the three formats has a place for that.

The words used are the model's own when their texts are the line's whitespace-separated tokens (as
:mod:`documents.build` makes them); otherwise the line's text is split on whitespace and every token is
estimated, so that every format carries exactly the line's text and never an engine's different reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from documents.model import Box, Line


@dataclass(frozen=True)
class PlacedWord:
    """A word of a line with a box on the page; ``estimated`` when the box is the line's split, not located."""

    text: str
    box: Box
    confidence: float
    estimated: bool


def placed_words(line: Line) -> tuple[PlacedWord, ...]:
    """The line's words in order, each with a box (located, or estimated as the module docstring says)."""
    tokens = line.text.split()
    if [word.text for word in line.words] == tokens:
        found = [(word.text, word.box, word.confidence) for word in line.words]
    else:
        found = [(token, None, line.confidence) for token in tokens]
    placed: list[PlacedWord] = []
    index = 0
    while index < len(found):
        text, box, confidence = found[index]
        if box is not None:
            placed.append(PlacedWord(text, box, confidence, estimated=False))
            index += 1
            continue
        end = index
        while end < len(found) and found[end][1] is None:
            end += 1
        left = placed[-1].box[2] if placed else line.box[0]
        following = found[end][1] if end < len(found) else None
        right = following[0] if following is not None else line.box[2]
        run = [(t, c) for t, _, c in found[index:end]]
        placed.extend(_split(run, line.box, left, right))
        index = end
    return tuple(placed)


def _split(run: list[tuple[str, float]], line_box: Box, left: int, right: int) -> list[PlacedWord]:
    """Boxes for consecutive unlocated words in [left, right), by character count (a space between words)."""
    _, top, _, bottom = line_box
    left = max(line_box[0], min(left, line_box[2]))
    right = max(left, min(right, line_box[2]))
    units = sum(len(text) for text, _ in run) + len(run) - 1
    per_unit = (right - left) / units if units > 0 else 0.0
    placed, offset = [], 0
    for text, confidence in run:
        start = left + round(offset * per_unit)
        offset += len(text)
        end = left + round(offset * per_unit)
        offset += 1  # the space after the word
        placed.append(PlacedWord(text, (start, top, end, bottom), confidence, estimated=True))
    return placed


def clamp_confidence(value: float) -> float:
    """A confidence forced into [0, 1]: the model promises it, but an exporter must never write an invalid one."""
    return min(1.0, max(0.0, value))


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry at all (C0 controls but tab, CR, LF; FFFE/FFFF).

    Escaping ``<&>"'`` is the serialiser's job; these characters cannot be escaped, only dropped, and an
    engine may well have read one (a form feed, a NUL) off a noisy scan.
    """
    return "".join(ch for ch in value if _xml_char(ch))


def _xml_char(ch: str) -> bool:
    code = ord(ch)
    if code < 0x20:
        return ch in "\t\n\r"
    return not (0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF))


def utc_timestamp(moment: datetime) -> str:
    """``moment`` as an xsd:dateTime in UTC (a naive datetime is taken to be UTC already)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
