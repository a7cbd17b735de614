"""What one line costs our line recognizer against PP-OCR's recognizer, in the same run (one thread each).

The target (issue 21): at most 30 ms per 800-px line on one core, at most 300 MB resident. The lines are
real handwritten and printed line crops from ``../shared/data/real-fit`` scaled to 800 px wide (their
height kept in proportion), read one at a time, as a worker reads a line job. Memory is the resident
size of a fresh process that has loaded the engine and read the lines.

    python bench/line_reader_cost.py [--lines 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import append_section, machine_line
from config.settings import Settings
from engines.base import Engine
from engines.registry import load_engine_class
from evaluation.manifest import load_items
from training.real import DEFAULT_DATA_DIR

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SHARED = DEFAULT_DATA_DIR
WIDTH = 800


def lines_800(count: int) -> list[np.ndarray]:
    """Real line crops (handwritten and printed, alternating) scaled to 800 px wide."""
    items = [i for i in load_items(SHARED / "real-fit" / "manifest.tsv") if i.kind == "line"]
    hand = [i for i in items if i.groups.get("group") == "handwritten"][: count // 2]
    printed = [i for i in items if i.groups.get("group") == "printed-line"][: count - len(hand)]
    crops = []
    for item in [x for pair in zip(hand, printed, strict=False) for x in pair]:
        image = Image.open(item.path).convert("RGB")
        height = max(8, round(image.height * WIDTH / image.width))
        crops.append(np.asarray(image.resize((WIDTH, height), Image.Resampling.LANCZOS)))
    return crops


def per_line_ms(name: str, crops: list[np.ndarray], repeats: int) -> list[float]:
    """Ms per line of engine ``name`` (one onnxruntime thread) in each of ``repeats`` passes."""
    return engine_passes_ms(load_engine_class(name).from_settings(Settings(onnx_threads=1)), crops, repeats)


def engine_passes_ms(engine: Engine, crops: list[np.ndarray], repeats: int) -> list[float]:
    """Ms per line in each of ``repeats`` passes, one line per call, after a warm-up pass."""
    engine.recognize_text(crops)
    passes = []
    for _ in range(repeats):
        started = time.perf_counter()
        for crop in crops:
            engine.recognize_text([crop])
        passes.append((time.perf_counter() - started) * 1000 / len(crops))
    return passes


def resident_mb(name: str, count: int) -> float:
    """Peak resident MB of a fresh process that loads ``name`` and reads the lines."""
    code = (
        "import resource, sys; sys.path.insert(0, '.');"
        "from bench.line_reader_cost import lines_800;"
        "from config.settings import Settings; from engines.registry import load_engine_class;"
        f"e = load_engine_class({name!r}).from_settings(Settings(onnx_threads=1));"
        f"e.recognize_text(lines_800({count}));"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(output.strip().splitlines()[-1])


def main() -> None:
    """Measure both engines and append a section to bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    crops = lines_800(args.lines)
    rows = {}
    for name in ("line_reader", "paddleocr"):
        passes = per_line_ms(name, crops, args.repeats)
        rows[name] = {
            "ms_per_line": round(statistics.median(passes), 1),
            "rss_mb": round(resident_mb(name, args.lines)),
        }
        print(name, rows[name], flush=True)
    ratio = rows["line_reader"]["ms_per_line"] / rows["paddleocr"]["ms_per_line"]
    lines = [
        machine_line(),
        f"- {len(crops)} real line crops (handwritten and printed, real-fit) scaled to {WIDTH} px wide, one per call,",
        f"  one onnxruntime thread; median of {args.repeats} passes; peak RSS of a fresh process (engine + reading)",
        "",
        "| engine | ms per 800-px line | peak RSS MB |",
        "| --- | ---: | ---: |",
        *(f"| {n} | {r['ms_per_line']} | {r['rss_mb']} |" for n, r in rows.items()),
        "",
        f"line_reader / paddleocr time ratio: {ratio:.2f}. Target: <= 30 ms and <= 300 MB.",
    ]
    append_section(RESULTS, "line_reader_cost", "python bench/line_reader_cost.py " + " ".join(sys.argv[1:]), lines)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
