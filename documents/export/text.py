"""Plain text: the document's text (lines joined by newlines, pages by a form feed) in UTF-8."""

from __future__ import annotations

from documents.model import Document


def render_text(document: Document) -> bytes:
    """The document's text as UTF-8 bytes, exactly :attr:`Document.text` (no trailing newline added)."""
    return document.text.encode("utf-8", errors="replace")
