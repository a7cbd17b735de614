"""Which input each line engine reads a lone character best from, on labelled real characters.

For each engine (PP-OCR, Tesseract, EasyOCR) and each way of showing it one character
(:class:`engines.preprocess.GlyphInput`: the crop as sent, or cut to its ink with a margin of paper of so
many ink heights on every side, small glyphs scaled up first), the top-1 accuracy on the manifest's
``fit_kind=char`` items, per set (MNIST digits, CoMNIST capitals, glyphs in held-out fonts). The crops are
decoded as the API decodes them and handed to the adapter's ``recognize_chars``, as the workers do; only
the adapter's ``char_input`` changes between rows. Choose on the fitting part of the real data (``python -m
evaluation.realdata OUT --font-glyphs 8``); the part kept apart is read once, after the choice, with only
``before`` (what the adapters gave before 2026-12-06) and ``adapter`` (what they give now).

    python bench/char_inputs.py /tmp/real/fit.tsv [--engines paddleocr,tesseract,easyocr] [--no-record]
    python bench/char_inputs.py /tmp/real/final.tsv --variants before,adapter
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_section, machine_line
from config.settings import Settings
from engines.base import CharResult
from engines.preprocess import GlyphInput
from engines.registry import load_engine_class
from evaluation.manifest import Item, load_items
from jobs.images import validate_image
from jobs.store import decode_png

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SETS = ("mnist", "comnist", "heldout-fonts")
# name -> input: "m0.5" a margin of half the ink height on every side; ink shorter than 48 px scaled up to 48
# ("h48"), taller scaled down to 48 ("H48"), or both ("=48").
VARIANTS: dict[str, GlyphInput] = {
    "sent": GlyphInput(margin=None),
    "m0": GlyphInput(margin=0.0, min_margin=0),
    "m0.1": GlyphInput(margin=0.1),
    "m0.15": GlyphInput(margin=0.15),
    "m0.2": GlyphInput(margin=0.2),
    "m0.3": GlyphInput(margin=0.3),
    "m0.5": GlyphInput(margin=0.5),
    "m0.75": GlyphInput(margin=0.75),
    "m1": GlyphInput(margin=1.0),
    "m0.15 h48": GlyphInput(margin=0.15, min_height=48),
    "m0.15 H64": GlyphInput(margin=0.15, max_height=64),
    "m0.15 =48": GlyphInput(margin=0.15, min_height=48, max_height=48),
    "m0.3 H24": GlyphInput(margin=0.3, max_height=24),
    "m0.3 =24": GlyphInput(margin=0.3, min_height=24, max_height=24),
    "m0.5 h48": GlyphInput(margin=0.5, min_height=48),
    "m0.5 H24": GlyphInput(margin=0.5, max_height=24),
    "m0.5 H48": GlyphInput(margin=0.5, max_height=48),
    "m0.5 =24": GlyphInput(margin=0.5, min_height=24, max_height=24),
    "m0.5 =32": GlyphInput(margin=0.5, min_height=32, max_height=32),
    "m0.5 =48": GlyphInput(margin=0.5, min_height=48, max_height=48),
    "m0.75 =24": GlyphInput(margin=0.75, min_height=24, max_height=24),
}
# What each adapter gave its engine before 2026-12-06 (EasyOCR: the crop as sent).
BEFORE = {"paddleocr": "m0.2", "tesseract": "m0.15", "easyocr": "sent"}


def source_of(item: Item) -> str:
    """The item's set: ``mnist``, ``comnist`` or ``heldout-fonts``."""
    return item.groups.get("source", "?")


def scores(items: list[Item], results: list[CharResult]) -> dict[str, tuple[int, int]]:
    """Right and total per set, and over all (``all``)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item, result in zip(items, results, strict=True):
        right = int(result.top is not None and result.top.char == item.truth)
        for key in (source_of(item), "all"):
            counts[key][0] += right
            counts[key][1] += 1
    return {key: (right, total) for key, (right, total) in counts.items()}


def main() -> None:
    """Measure every variant for every engine; print a table and append it to bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--engines", default="paddleocr,tesseract,easyocr")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS, or before, adapter"
    )
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to RESULTS.md")
    args = parser.parse_args()
    settings = Settings()
    items = [item for item in load_items(args.manifest) if item.groups.get("fit_kind") == "char"]
    crops = [decode_png(validate_image(item.path.read_bytes(), 1 << 30, 1 << 30).png) for item in items]
    sizes = {key: total for key, (_, total) in scores(items, [CharResult("", "", ())] * len(items)).items()}
    header = "| engine | input | " + " | ".join(f"{key} ({sizes.get(key, 0)})" for key in (*SETS, "all")) + " |"
    rows = ["", header, "| --- | --- |" + " ---: |" * (len(SETS) + 1)]
    print(header, flush=True)
    for name in args.engines.split(","):
        engine = load_engine_class(name, settings.engine_plugins).from_settings(settings)
        shipped = engine.char_input  # type: ignore[attr-defined]
        for variant in args.variants.split(","):
            chosen = shipped if variant == "adapter" else VARIANTS[BEFORE[name] if variant == "before" else variant]
            engine.char_input = chosen  # type: ignore[attr-defined]
            started = time.perf_counter()
            counts = scores(items, engine.recognize_chars(crops, top_k=1))
            seconds = time.perf_counter() - started
            label = next((key for key, value in VARIANTS.items() if value == chosen), str(chosen))
            label += " (adapter)" if chosen == shipped else ""
            label += " (before)" if BEFORE.get(name) == label.split(" (")[0] else ""
            cells = " | ".join(
                f"{counts[k][0] / counts[k][1]:.1%} ({counts[k][0]})" for k in (*SETS, "all") if k in counts
            )
            row = f"| {name} | {label} | {cells} |"
            print(row, f"{seconds:.0f} s", flush=True)
            rows.append(row)
        engine.close()
    if args.no_record:
        return
    command = "python bench/char_inputs.py " + " ".join(sys.argv[1:])
    lines = [
        machine_line(),
        f"- data: the `fit_kind=char` items of `{args.manifest.name}`, decoded as the API does",
        "- top-1 accuracy (items right) of each engine alone per input; `sent`: the crop as sent (polarity",
        "  fixed); `mX`: cut to its ink with X ink heights of paper on every side (at least 4 px; `m0`: none);",
        "  `hN`: ink shorter than N px scaled up to N px first, `HN` taller ink scaled down to N px, `=N` both;",
        "  `(adapter)`: what the adapter gives the engine in this revision; `(before)`: what it gave before 2026-12-06",
        *rows,
    ]
    append_section(RESULTS, "char_inputs", command, lines)


if __name__ == "__main__":
    main()
