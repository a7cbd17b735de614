"""Reading order on real multi-column scans against region-level ground truth (PAGE XML ``ReadingOrder``).

For every ``NAME.xml`` in ``--pages`` with an image beside it (``NAME.jpg``, ``.png`` or ``.tif``), the page
job's layout step runs as a worker runs it (:func:`jobs.page_layout.upright_page`, then
:func:`jobs.page_layout.find_lines` with PP-OCR, the default layout engine) with each order:

* ``tesseract_regions``: the lines ordered by the regions of Tesseract's page layout analysis (the default,
  ``OCR_LAYOUT_ORDER=tesseract``);
* ``xycut``: the lines ordered by our XY-cut alone (``OCR_LAYOUT_ORDER=xycut``, the order before);
* ``tesseract_lines``: Tesseract's own text lines in its own order (``TesseractEngine.detect_lines``, psm 3),
  for reference: what Tesseract's layout alone gives.

Each line's centre, mapped back onto the uploaded page, goes to the ground-truth region holding it, and
:func:`evaluation.page_order.order_errors` scores the order: the share of line pairs in different regions
read in the wrong order (0: the truth's order). No text is needed, so structure-only ground truth serves.
Pages are split into fit / kept-apart by :func:`evaluation.realdata.in_final_check` (file-name hash, 0.2).

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/region_order.py --pages /work/data-extra/gt-structure
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.settings import get_settings
from engines.base import Box, Engine
from engines.page_regions import TesseractRegions
from engines.registry import load_engine_class
from evaluation.manifest import Item
from evaluation.page_order import OrderScore, load_regions, order_errors, region_ranks
from evaluation.realdata import in_final_check
from jobs.images import validate_image
from jobs.page_layout import find_lines, upright_page
from jobs.store import decode_png

VARIANTS = ("tesseract_regions", "xycut", "tesseract_lines")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


def page_files(folder: Path) -> list[tuple[Path, Path]]:
    """(image, PAGE XML) pairs of ``folder``, sorted by name."""
    pairs = []
    for xml in sorted(folder.glob("*.xml")):
        image = next((xml.with_suffix(s) for s in IMAGE_SUFFIXES if xml.with_suffix(s).is_file()), None)
        if image is not None:
            pairs.append((image, xml))
    return pairs


def ordered_boxes(variant: str, page: np.ndarray, paddle: Engine, tesseract: Engine, finder: TesseractRegions) -> list:
    """The line boxes of the upright ``page`` in the order ``variant`` reads them."""
    if variant == "tesseract_lines":
        return list(tesseract.detect_lines(page))
    return list(find_lines(page, paddle, finder if variant == "tesseract_regions" else None)["boxes"])


def score_page(image: Path, xml: Path, readers: tuple[Engine, Engine, TesseractRegions]) -> dict[str, object]:
    """Every variant's order score and seconds on one page."""
    validated = validate_image(image.read_bytes(), max_bytes=1 << 30, max_pixels=1 << 30)
    pixels = decode_png(validated.png)
    page, transform = upright_page(pixels)
    back: Callable[[Box], Box] = transform.to_original if transform is not None else (lambda box: box)
    truth = load_regions(xml)
    row: dict[str, object] = {"page": image.name, "regions": len(truth)}
    for variant in VARIANTS:
        started = time.perf_counter()
        boxes = ordered_boxes(variant, page, *readers)
        seconds = time.perf_counter() - started
        centres = []
        for box in boxes:
            left, top, right, bottom = back(tuple(int(v) for v in box))  # type: ignore[arg-type]
            centres.append(((left + right) / 2, (top + bottom) / 2))
        row[variant] = (order_errors(region_ranks(centres, truth)), seconds)
    return row


def table(rows: list[dict[str, object]]) -> list[str]:
    """Markdown: per page and per split, wrong-order pair share (lines read, lines outside the truth)."""
    lines = [
        "Share of line pairs (in different ground-truth regions) read in the wrong order; lines read, lines in "
        "no ground-truth region, seconds.",
        "",
        "| page | split | GT regions | " + " | ".join(VARIANTS) + " |",
        "| --- | --- | ---: |" + " ---: |" * len(VARIANTS),
    ]
    for row in rows:
        cells = []
        for variant in VARIANTS:
            score, seconds = row[variant]  # type: ignore[misc]
            cells.append(f"{score.error:.1%} ({score.lines}, {score.unplaced}; {seconds:.1f} s)")
        lines.append(f"| {row['page']} | {row['split']} | {row['regions']} | " + " | ".join(cells) + " |")
    for split in ("fit", "final", "all"):
        chosen = [r for r in rows if split == "all" or r["split"] == split]
        if not chosen:
            continue
        cells = []
        for variant in VARIANTS:
            scores: list[OrderScore] = [r[variant][0] for r in chosen]  # type: ignore[index]
            mean = float(np.mean([s.error for s in scores]))
            pooled = sum(s.wrong_pairs for s in scores) / max(1, sum(s.pairs for s in scores))
            cells.append(f"mean {mean:.1%}, pooled {pooled:.1%}")
        lines.append(f"| **{split}** ({len(chosen)} pages) | | | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    """Score every page of ``--pages`` with every variant and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=Path, required=True, help="folder of PAGE XML files with their images")
    args = parser.parse_args()
    settings = get_settings()
    paddle = load_engine_class("paddleocr", settings.engine_plugins).from_settings(settings)
    tesseract = load_engine_class("tesseract", settings.engine_plugins).from_settings(settings)
    finder = TesseractRegions(settings.tessdata_path, settings.tesseract_lang)
    rows = []
    for image, xml in page_files(args.pages):
        row = score_page(image, xml, (paddle, tesseract, finder))
        row["split"] = "final" if in_final_check(Item(image, "page", ""), 0.2) else "fit"
        rows.append(row)
        print(f"  {image.name}: " + ", ".join(f"{v} {row[v][0].error:.1%}" for v in VARIANTS), file=sys.stderr)  # type: ignore[index]
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main()
