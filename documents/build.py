"""Turn a finished job's JSON result into the typed :class:`~documents.model.Document`.

A page or line job is a one-page document; a document job (PDF, TIFF) has one page per page job; a char
job is a page holding one line of one character. Every exporter renders from what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from documents.model import Block, Box, Document, Line, Page, Reading, Word


def document_from_result(result: dict[str, Any], size: Sequence[int]) -> Document:
    """The document of a single-image job's ``result``; ``size`` is the image's (width, height)."""
    page = page_from_result(1, result, size)
    return Document(pages=(page,), engines=tuple(sorted(result.get("engines") or {})))


def document_from_pages(pages: Sequence[dict[str, Any]]) -> Document:
    """The document of a document job: ``pages`` as in its result (page, status, result, error, size)."""
    built = []
    engines: set[str] = set()
    for entry in pages:
        size = entry.get("size") or (0, 0)
        if entry.get("result"):
            built.append(page_from_result(entry["page"], entry["result"], size))
            engines.update(entry["result"].get("engines") or {})
        else:
            message = (entry.get("error") or {}).get("message", "the page could not be read")
            built.append(Page(number=entry["page"], width=int(size[0]), height=int(size[1]), error=message))
    return Document(pages=tuple(built), engines=tuple(sorted(engines)))


def page_from_result(number: int, result: dict[str, Any], size: Sequence[int]) -> Page:
    """One page from a job result: its blocks (or one block of every line) with lines, words and readings."""
    width, height = int(size[0]), int(size[1])
    whole: Box = (0, 0, width, height)
    orientation = result.get("orientation") or {}
    if result.get("mode") == "char":
        line = Line(text=result.get("text", ""), box=whole, confidence=float(result.get("confidence", 0.0)))
        blocks: tuple[Block, ...] = (Block(box=whole, lines=(line,)),) if line.text else ()
    else:
        lines = [_line(data, whole) for data in result.get("lines") or []]
        blocks = _blocks(result.get("blocks"), lines)
    return Page(
        number=number,
        width=width,
        height=height,
        blocks=blocks,
        rotation=int(orientation.get("rotation", 0)),
        skew=float(orientation.get("skew", 0.0)),
    )


def _blocks(found: list[dict[str, Any]] | None, lines: list[Line]) -> tuple[Block, ...]:
    groups = [list(block["lines"]) for block in found] if found else [list(range(len(lines)))]
    blocks = []
    for members in groups:
        kept = tuple(lines[i] for i in members if i < len(lines) and lines[i].text)
        if kept:
            blocks.append(Block(box=_around(line.box for line in kept), lines=kept))
    return tuple(blocks)


def _line(data: dict[str, Any], whole: Box) -> Line:
    box = _box(data.get("box")) or whole
    confidences = tuple(float(c) for c in data.get("char_confidences") or ())
    words = _words(data.get("words") or [], confidences, data.get("text", ""))
    readings = tuple(
        Reading(engine=name, text=view.get("text") or "", confidence=float(view.get("confidence") or 0.0))
        for name, view in sorted((data.get("engines") or {}).items())
    )
    return Line(
        text=data.get("text", ""),
        box=box,
        confidence=float(data.get("confidence", 0.0)),
        words=words,
        char_confidences=confidences,
        readings=readings,
    )


def _words(found: list[dict[str, Any]], confidences: tuple[float, ...], line_text: str) -> tuple[Word, ...]:
    """The line's words; a word's confidence is that of the least sure of its characters in the line."""
    words, cursor = [], 0
    for data in found:
        text = data.get("text", "")
        start = line_text.find(text, cursor) if text else -1
        chars = confidences[start : start + len(text)] if start >= 0 else ()
        cursor = start + len(text) if start >= 0 else cursor
        words.append(Word(text=text, box=_box(data.get("box")), confidence=min(chars) if chars else 0.0))
    return tuple(words)


def _box(value: Sequence[int] | None) -> Box | None:
    if not value or len(value) != 4:
        return None
    left, top, right, bottom = (int(v) for v in value)
    return (left, top, right, bottom)


def _around(boxes: Any) -> Box:
    chosen = list(boxes)
    return (
        min(b[0] for b in chosen),
        min(b[1] for b in chosen),
        max(b[2] for b in chosen),
        max(b[3] for b in chosen),
    )
