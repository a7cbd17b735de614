"""Throughput of the character CNN engine in one process and one onnxruntime thread (as a worker runs it).

Network alone (``predict`` on normalised glyphs) and the engine's whole character path (normalisation
+ network) at batch 1, 64 and 256; text mode on a word and a line; import cost of the serving side.
Appends a section to bench/RESULTS.md.

    python bench/cnn_throughput.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.common import append_section, machine_line, render
from config.settings import Settings
from engines.emnist_cnn import EmnistCnnEngine
from engines.glyph import normalize_glyph

RESULTS = Path(__file__).with_name("RESULTS.md")
CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def median_ms(call: Callable[[], object], repeats: int) -> float:
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def import_cost() -> str:
    code = (
        "import time, resource; t = time.perf_counter(); import engines.emnist_cnn, onnxruntime; "
        "print(round((time.perf_counter() - t) * 1000), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
    )
    ms, rss = subprocess.check_output([sys.executable, "-c", code], text=True).split()
    return f"- serving side: `import engines.emnist_cnn, onnxruntime` {ms} ms, process max RSS {rss} MB (no torch)"


def _row(label: str, batch: int, ms: float) -> str:
    return f"| {label} | {batch} | {ms:.2f} | {ms * 1000 / batch:.0f} | {batch / ms * 1000:,.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    settings = Settings()
    engine = EmnistCnnEngine(settings.emnist_model_dir, threads=1)
    crops = [render(CHARS[i % len(CHARS)], size=28 + i % 30, pad=10) for i in range(256)]
    glyphs = np.stack([g for g in (normalize_glyph(c) for c in crops) if g is not None])
    rows = ["| path | batch | ms per batch | µs per char | chars/s |", "| --- | ---: | ---: | ---: | ---: |"]
    for batch in (1, 64, 256):
        ms = median_ms(lambda b=batch: engine.predict(glyphs[:b]), args.repeats)
        rows.append(_row("network only", batch, ms))
    for batch in (1, 64, 256):
        ms = median_ms(lambda b=batch: engine.recognize_chars(crops[:b]), args.repeats)
        rows.append(_row("recognize_chars", batch, ms))
    word, line = render("Invoice", 32, pad=10), render("The quick brown fox jumps over 42 lazy dogs", 32, pad=10)
    word_ms = median_ms(lambda: engine.recognize_text([word]), args.repeats)
    line_ms = median_ms(lambda: engine.recognize_text([line]), args.repeats)
    text_lines = [
        f"- text mode (segmentation + one batch): word 'Invoice' {word_ms:.2f} ms, 43-char line {line_ms:.2f} ms"
    ]
    lines = [
        machine_line(),
        f"- model: `{engine.model_version}`, onnxruntime intra-op threads 1, median of {args.repeats} runs",
        "- crops: DejaVu Sans glyphs, 28-57 px, dark on light (normalised by the engine)",
        "",
        *rows,
        "",
        *text_lines,
        import_cost(),
    ]
    append_section(RESULTS, "cnn_throughput", "python bench/cnn_throughput.py " + " ".join(sys.argv[1:]), lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
