"""A PDF page's own text layer, reused instead of recognition when the client asks (``pdf_text=true``).

Born-digital PDFs (and scans an earlier OCR made searchable) already say what they hold and where. PDFium
gives the text in runs with their rectangles; runs that overlap vertically form a line, read left to right,
and the lines are ordered and grouped into blocks the way a page job's detected lines are.
"""

from __future__ import annotations

from typing import Any

import pypdfium2 as pdfium

from engines.layout import block_records, reading_blocks

SOURCE = "pdf_text"
Box = tuple[int, int, int, int]


def page_lines(page: pdfium.PdfPage, scale: float) -> list[tuple[Box, str]]:
    """The text layer's lines as (box in pixels at ``scale``, text), in no particular order; empty when
    the page has no text layer or is rotated (its text would not sit where the rendered page shows it)."""
    if page.get_rotation() % 360:
        return []
    textpage = page.get_textpage()
    try:
        if textpage.count_chars() == 0:
            return []
        _, height = page.get_size()
        runs = []
        for index in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(index)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if text:
                box = (
                    int(left * scale),
                    int((height - top) * scale),
                    int(right * scale) + 1,
                    int((height - bottom) * scale) + 1,
                )
                runs.append((box, " ".join(text.split())))
        return _joined_lines(runs)
    finally:
        textpage.close()


def _joined_lines(runs: list[tuple[Box, str]]) -> list[tuple[Box, str]]:
    """Runs on the same line (a run's vertical centre within the line's first run) joined left to right."""
    lines: list[list[tuple[Box, str]]] = []
    for run in sorted(runs, key=lambda r: (r[0][1] + r[0][3], r[0][0])):
        box = run[0]
        centre = (box[1] + box[3]) / 2
        for line in lines:
            first = line[0][0]
            if first[1] <= centre <= first[3]:
                line.append(run)
                break
        else:
            lines.append([run])
    joined = []
    for line in lines:
        line.sort(key=lambda r: r[0][0])
        boxes = [r[0] for r in line]
        around = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        joined.append((around, " ".join(r[1] for r in line)))
    return joined


def text_result(lines: list[tuple[Box, str]], version: str) -> dict[str, Any]:
    """A page job's result from the text layer: every line as sure as the PDF says it (confidence 1)."""
    boxes = [box for box, _ in lines]
    groups = reading_blocks(boxes)
    order = [index for group in groups for index in group]
    ordered = [lines[i] for i in order]
    result_lines = [_line(box, text) for box, text in ordered]
    blocks = block_records(groups, [box for box, _ in ordered])
    text = "\n".join(line["text"] for line in result_lines)
    return {
        "mode": "page",
        "kind": "page",
        "source": SOURCE,
        "text": text,
        "confidence": 1.0 if text else 0.0,
        "agreement": 1.0,
        "method": SOURCE,
        "weights": {},
        "char_confidences": [],
        "lines": result_lines,
        "blocks": blocks,
        "orientation": {"rotation": 0, "skew": 0.0},
        "layout": {"engine": SOURCE, "error": None},
        "engines": {
            SOURCE: {"text": text, "confidence": 1.0, "model_version": version, "elapsed_ms": 0.0, "error": None}
        },
        "failed_engines": [],
        "skipped_engines": {},
        "cascade": None,
        "model_versions": {SOURCE: version},
        "processing_time_ms": 0.0,
    }


def _line(box: Box, text: str) -> dict[str, Any]:
    sure = [1.0] * len(text)
    return {
        "box": list(box),
        "text": text,
        "confidence": 1.0,
        "agreement": 1.0,
        "char_confidences": sure,
        "selected": SOURCE,
        "disagreements": [],
        "words": [{"text": word, "box": None} for word in text.split()],
        "engines": {SOURCE: {"text": text, "confidence": 1.0, "char_confidences": sure}},
        "cascade": None,
    }
