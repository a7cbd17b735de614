"""Per-engine latency on a character, a word, a line and a page, and page jobs end to end.

Part 1 runs each engine in this process (one thread, as a worker process does): median and p95 of
``--repeats`` calls per crop type; the page figure is line detection (the engine's own) plus
recognition of every detected line. Part 2 needs a running stack (`make run-detached`): page jobs
through the API with every engine, and with each engine alone, all with ``cache=false``; the target is
an ensemble page latency no more than 1.5x the slowest single engine's.

    python bench/engine_latency.py [--repeats 20] [--url http://127.0.0.1:8000] [--no-api]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageDraw, ImageFont

from bench.common import FONT, append_section, machine_line, render
from config.settings import Settings
from engines.base import Engine, EngineUnavailable
from engines.layout import reading_order
from engines.registry import load_engine_class
from jobs.options import JobOptions
from jobs.results import build_result

PAGE_LINES = [
    "Quarterly report for the board of directors",
    "Revenue rose 12% to 4,310 units in the period",
    "Shipping delays ended in March after the move",
    "Costs per unit fell by 3.5% against last year",
    "Next review: 14 June 2027, main office, room 4",
    "Prepared by the finance team for internal use",
]


def _crops() -> dict[str, np.ndarray]:
    return {"char": render("G", 40), "word": render("invoice"), "line": render(PAGE_LINES[1])}


def render_page(lines: list[str], size: int = 28) -> np.ndarray:
    font = ImageFont.truetype(FONT, size)
    image = Image.new("L", (1000, 80 + 60 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((40, 40 + 60 * row), line, font=font, fill=0)
    return np.asarray(image)


def timed(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    call()  # warm-up
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def page_call(engine: Engine, page: np.ndarray, layout_boxes: list[tuple[int, int, int, int]]) -> Callable[[], object]:
    """Detection by the engine itself when it has a detector, else recognition of the layout engine's boxes."""
    try:
        engine.detect_lines(page)
        own_detector = True
    except EngineUnavailable:
        own_detector = False

    def run() -> object:
        boxes = engine.detect_lines(page) if own_detector else layout_boxes
        ordered = [boxes[i] for i in reading_order(boxes)]
        return engine.recognize_text([page[t:b, left:r] for left, t, r, b in ordered])

    return run


def overhead_rows(engines: dict[str, Engine], crops: dict[str, np.ndarray], repeats: int) -> list[str]:
    """The vote's own time (build_result) against the slowest engine's, per crop type."""
    rows = []
    for kind, crop in crops.items():
        mode = "char" if kind == "char" else "text"
        slowest, outputs = 0.0, []
        for name, engine in engines.items():
            p50, _ = timed(lambda e=engine, c=crop, m=mode: e.recognize([c], m), repeats)
            slowest = max(slowest, p50)
            results = [r.to_dict() for r in engine.recognize([crop], mode)]
            outputs.append({"engine": name, "ok": True, "results": results})
        options = JobOptions("char" if kind == "char" else "line", tuple(engines), "confidence", {})
        vote_ms, _ = timed(lambda o=outputs, opt=options: build_result(o, opt, None, [100, 100]), repeats * 5)
        rows.append(f"| {kind} | {slowest:.1f} | {vote_ms:.3f} | {vote_ms / slowest:.1%} |")
        print(rows[-1])
    return rows


def engine_rows(repeats: int, loaded: dict[str, Engine]) -> list[str]:
    settings = Settings()
    crops = _crops()
    page = render_page(PAGE_LINES)
    rows = []
    layout_name = next(n for n in settings.layout_engines if n in settings.engines)
    layout = loaded.setdefault(layout_name, load_engine_class(layout_name).from_settings(settings))
    layout_boxes = layout.detect_lines(page)
    for name in settings.engines:
        engine = loaded.setdefault(name, load_engine_class(name).from_settings(settings))
        cells = []
        for kind, crop in crops.items():
            mode = "char" if kind == "char" else "text"
            cells.append(timed(lambda e=engine, c=crop, m=mode: e.recognize([c], m), repeats))
        cells.append(timed(page_call(engine, page, layout_boxes), max(3, repeats // 4)))
        rows.append(f"| {name} | " + " | ".join(f"{p50:.1f} / {p95:.1f}" for p50, p95 in cells) + " |")
        print(rows[-1])
    return rows


def page_job_ms(url: str, png: bytes, engines: list[str], repeats: int) -> float:
    samples = []
    with requests.Session() as http:
        for _ in range(repeats + 1):
            started = time.perf_counter()
            response = http.post(
                f"{url}/v1/jobs",
                files={"image": ("page.png", png)},
                data={"mode": "page", "engines": ",".join(engines), "cache": "false"},
            )
            response.raise_for_status()
            job_url = url + response.headers["Location"]
            job = response.json()
            while job["status"] not in ("succeeded", "failed"):
                time.sleep(0.005)
                job = http.get(job_url).json()
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[1:])


def api_rows(url: str, repeats: int) -> list[str]:
    engines = requests.get(f"{url}/status", timeout=5).json()["engines"]
    names = sorted(engines)
    buffer = io.BytesIO()
    Image.fromarray(render_page(PAGE_LINES)).save(buffer, format="PNG")
    png = buffer.getvalue()
    single = {name: page_job_ms(url, png, [name], repeats) for name in names}
    together = page_job_ms(url, png, names, repeats)
    slowest = max(single.values())
    rows = [f"| {name} alone | {ms:.0f} |" for name, ms in single.items()]
    rows.append(f"| all {len(names)} engines | {together:.0f} |")
    rows.append(f"| ratio all / slowest single | {together / slowest:.2f} (target <= 1.5) |")
    for row in rows:
        print(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--no-api", action="store_true", help="skip the page jobs through the API")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    loaded: dict[str, Engine] = {}
    lines = [
        "- one thread per engine (OCR_ONNX_THREADS=1, OCR_TORCH_THREADS=1); page = 6 printed lines, 1000 px wide",
        "- page = the engine's own line detection + reading every line; engines without a detector (emnist_cnn)",
        "  read the lines found by the layout engine (detection not counted)",
        "",
        "| engine | char p50 / p95 ms | word | line | page (detect + read) |",
        "| --- | ---: | ---: | ---: | ---: |",
        *engine_rows(args.repeats, loaded),
        "",
        "The vote's own cost (aligning and voting the engines' outputs, `build_result`) next to the slowest",
        "engine on the same crop, p50 ms:",
        "",
        "| crop | slowest engine ms | vote ms | vote / slowest |",
        "| --- | ---: | ---: | ---: |",
        *overhead_rows(loaded, _crops(), args.repeats),
    ]
    if not args.no_api:
        lines += [
            "",
            "Page jobs end to end through the API (`make run-detached` layout: one worker per engine), median ms:",
            "",
            "| engines | page job ms |",
            "| --- | ---: |",
            *api_rows(args.url, max(3, args.repeats // 4)),
        ]
    if not args.no_record:
        command = f"python bench/engine_latency.py --repeats {args.repeats}"
        append_section(Path(__file__).with_name("RESULTS.md"), "engine_latency", command, [machine_line(), *lines])


if __name__ == "__main__":
    main()
