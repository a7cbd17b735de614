"""TrOCR per-line latency at batch 1 and 16 on CPU, against PP-OCR in the same run, and its CER.

Both engines run in this process with one thread (as a worker process does) on the same 16 printed
lines. Batch 1: each line alone, ``--repeats`` rounds, median and p95 per line. Batch 16: all lines in
one call, median per line over the rounds. Then the configured TrOCR model's CER on synthetic lines
in the held-out fonts (``training/trocr``, seeded), read through the adapter.

    python bench/trocr_latency.py [--repeats 5] [--cer-items 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import append_section, machine_line, render
from config.settings import Settings
from engines.base import Engine
from engines.registry import load_engine_class

LINES = [
    "Quarterly report for the board",
    "Revenue rose 12% to 4,310 units",
    "Shipping delays ended in March",
    "Next review: 14 June 2027",
    "Invoice 2048 paid in full",
    "Total amount due: $1,250.00",
    "Please call +44 207 555 0199",
    "Order ref AX-7731 shipped",
    "The quick brown fox jumps",
    "Meeting moved to room 4B",
    "Deliver 250 boxes on Monday",
    "Customer account 00912-K",
    "Weekly summary, page 3 of 7",
    "Costs fell by 3.5% this year",
    "Signed: J. Smith, 02/11/2026",
    "Station road, garden side",
]


def _engine(name: str, settings: Settings) -> Engine:
    return load_engine_class(name).from_settings(settings)


def _per_line_ms(engine: Engine, crops: list[np.ndarray], batch: int, repeats: int) -> list[float]:
    timings = []
    for _ in range(repeats):
        for start in range(0, len(crops), batch):
            chunk = crops[start : start + batch]
            began = time.perf_counter()
            engine.recognize_text(chunk)
            timings.append((time.perf_counter() - began) * 1000.0 / len(chunk))
    return timings


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def _cer(settings: Settings, items: int) -> tuple[float, float]:
    from engines.trocr import InputFit
    from training.fonts import installed_fonts
    from training.trocr.corpus import load_words
    from training.trocr.data import fixed_set
    from training.trocr.evaluate import TEST_SEED
    from training.trocr.train import evaluate_dir

    fit = InputFit(True, 10.0)  # the adapter fits crops again; this only shapes the rendered samples
    data = fixed_set(load_words(), installed_fonts(held_out=True), fit, items, TEST_SEED + 7)
    scores = evaluate_dir(Path(settings.trocr_model), data, threads=1)
    return scores["cer"], scores["exact"]


def _loaded_rss_mb(model: str) -> int:
    """Peak RSS of a fresh process that imports the adapter, loads ``model`` and reads one line."""
    code = (
        "import resource\n"
        "from engines.trocr import TrOcrEngine\n"
        "from bench.common import render\n"
        f"engine = TrOcrEngine({model!r}, device='cpu', threads=1)\n"
        "engine.recognize_text([render('one line of text')])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure and append a section to bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cer-items", type=int, default=200)
    args = parser.parse_args()
    settings = Settings(torch_threads=1, onnx_threads=1, torch_device="cpu")
    crops = [render(line, 30) for line in LINES]
    rows = ["| engine | batch 1: median / p95 ms per line | batch 16: median ms per line |", "| --- | ---: | ---: |"]
    medians: dict[str, tuple[float, float]] = {}
    versions = []
    for name in ("trocr", "paddleocr"):
        engine = _engine(name, settings)
        versions.append(f"{name} `{engine.model_version}`")
        engine.recognize_text(crops[:2])  # warm-up
        single = _per_line_ms(engine, crops, 1, args.repeats)
        batched = _per_line_ms(engine, crops, 16, args.repeats)
        medians[name] = (statistics.median(single), statistics.median(batched))
        rows.append(f"| {name} | {medians[name][0]:.1f} / {_p95(single):.1f} | {medians[name][1]:.1f} |")
    ratio_1 = medians["trocr"][0] / medians["paddleocr"][0]
    ratio_16 = medians["trocr"][1] / medians["paddleocr"][1]
    cer, exact = _cer(settings, args.cer_items)
    rss = _loaded_rss_mb(settings.trocr_model)
    lines = [
        machine_line(),
        f"- models: {', '.join(versions)}; one thread each, CPU, greedy decoding",
        f"- 16 printed lines (DejaVu Sans 30 px, 24-31 characters), {args.repeats} rounds",
        "",
        *rows,
        "",
        f"- TrOCR / PP-OCR in this run: {ratio_1:.2f}x at batch 1, {ratio_16:.2f}x at batch 16",
        f"- TrOCR CER on {args.cer_items} synthetic lines in the held-out fonts (augmented, seeded):"
        f" {cer:.4f}, exact match {exact:.3f}",
        f"- one process with torch, transformers and the model loaded, after one line: peak RSS {rss} MB",
    ]
    print("\n".join(lines))
    results = Path(__file__).with_name("RESULTS.md")
    append_section(results, "TrOCR latency per line", "python bench/trocr_latency.py", lines)


if __name__ == "__main__":
    main()
