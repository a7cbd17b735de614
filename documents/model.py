"""The one document model every output renders from: Document -> Page -> Block -> Line -> Word.

Boxes are in the original image's pixel coordinates (left, top, right, bottom; right and bottom
exclusive), whatever rotation or deskew the page needed before recognition. Confidences are in [0, 1].
A job's JSON result is turned into this model by :mod:`documents.build`; the exporters in
:mod:`documents.export` (text, hOCR, ALTO, PAGE XML, searchable PDF) read only these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Reading:
    """One engine's reading of a line, kept beside the vote."""

    engine: str
    text: str
    confidence: float


@dataclass(frozen=True)
class Word:
    """A word of the voted text; ``box`` is None when no engine located it on the page."""

    text: str
    box: Box | None
    confidence: float


@dataclass(frozen=True)
class Line:
    """A text line in reading order within its block."""

    text: str
    box: Box
    confidence: float
    words: tuple[Word, ...] = ()
    char_confidences: tuple[float, ...] = ()
    readings: tuple[Reading, ...] = ()


@dataclass(frozen=True)
class Block:
    """A text block (a column, a paragraph, a header); lines in reading order."""

    box: Box
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Page:
    """One page; ``number`` counts from 1. A page that failed has no blocks and an ``error``.

    ``rotation`` is the clockwise quarter turn (0, 90, 180, 270) the page was found in and undone before
    reading; ``skew`` the small angle in degrees that was straightened; both only describe what was done,
    every box is already in the original image's coordinates.
    """

    number: int
    width: int
    height: int
    blocks: tuple[Block, ...] = ()
    rotation: int = 0
    skew: float = 0.0
    error: str | None = None

    @property
    def lines(self) -> tuple[Line, ...]:
        """Every line of the page in reading order."""
        return tuple(line for block in self.blocks for line in block.lines)

    @property
    def text(self) -> str:
        """The page's text: its lines in reading order joined by newlines (as the JSON result's text)."""
        return "\n".join(line.text for line in self.lines if line.text)


@dataclass(frozen=True)
class Document:
    """A job's result as a document: one page for an image, one per page of a PDF or TIFF."""

    pages: tuple[Page, ...]
    engines: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        """The document's text, pages separated by a form feed."""
        return "\f".join(page.text for page in self.pages)
