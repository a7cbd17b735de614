"""Which optional preprocessing steps help which engine on which kind of crop, on labelled real data.

For each engine and kind, the CER of the engine alone on the manifest's items of that kind, read as
sent and after each step of :mod:`engines.steps`, in the same run (the ratio to "none" is the result).
Use the fitting part of the real data (``python -m evaluation.realdata``), never the part kept apart.

    python bench/preprocess_steps.py /tmp/real/fit.tsv [--per-kind 150] [--engines paddleocr,tesseract]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jiwer

from bench.common import append_section, machine_line
from config.settings import Settings
from engines.registry import load_engine_class
from engines.steps import STEPS, apply_steps
from evaluation.manifest import load_items
from evaluation.normalize import normalise
from jobs.images import validate_image
from jobs.store import decode_png

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
KINDS = ("printed", "handwritten", "scene")


def main() -> None:
    """Measure and append a section to bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--per-kind", type=int, default=150, help="items per kind (the first ones)")
    parser.add_argument("--engines", default="paddleocr,tesseract,easyocr")
    args = parser.parse_args()
    settings = Settings()
    items = load_items(args.manifest)
    rows = [
        "",
        "| engine | kind | items | none | " + " | ".join(STEPS) + " |",
        "| --- | --- | ---: |" + " ---: |" * (len(STEPS) + 1),
    ]
    for name in args.engines.split(","):
        engine = load_engine_class(name, settings.engine_plugins).from_settings(settings)
        for kind in KINDS:
            chosen = [i for i in items if i.groups.get("fit_kind") == kind][: args.per_kind]
            if not chosen:
                continue
            crops = [decode_png(validate_image(i.path.read_bytes(), 1 << 30, 1 << 30).png) for i in chosen]
            truths = [normalise(i.truth) for i in chosen]
            cers = []
            for step in [None, *STEPS]:
                ready = crops if step is None else [apply_steps(crop, [step]) for crop in crops]
                texts = [normalise(r.text) for r in engine.recognize_text(ready)]  # type: ignore[union-attr]
                cers.append(float(jiwer.cer(truths, texts)))
            row = (
                f"| {name} | {kind} | {len(chosen)} | {cers[0]:.4f} | "
                + " | ".join(f"{c:.4f}" for c in cers[1:])
                + " |"
            )
            print(row, flush=True)
            rows.append(row)
    command = "python bench/preprocess_steps.py " + " ".join(sys.argv[1:])
    lines = [
        machine_line(),
        f"- data: the `fit_kind` groups of `{args.manifest.name}` (real-fit, real-fit-en; fitting part)",
        "- CER of each engine alone, corpus level, normalised text; lower is better",
        *rows,
    ]
    append_section(RESULTS, "preprocess_steps", command, lines)


if __name__ == "__main__":
    main()
