"""Every engine's raw reading of every item, from a running server or in this process.

The raw readings (a character's ranked alternatives, each line's text with per-character confidences)
are kept so that voting can be replayed offline for every method, weight set and calibration.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import requests

from engines.base import CharCandidate, CharResult, Engine, EngineError, TextResult
from engines.page_regions import TesseractRegions
from engines.steps import apply_steps
from evaluation.manifest import Item
from jobs.images import validate_image
from jobs.page_layout import find_lines, upright_page
from jobs.store import decode_png

MODE_FOR_KIND = {"char": "char", "word": "line", "line": "line", "page": "page"}


@dataclass
class Reading:
    """The engines' outputs for one item: ``chars`` for char items, ``lines`` for the others."""

    item: Item
    chars: dict[str, CharResult] = field(default_factory=dict)
    lines: list[dict[str, TextResult]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    engine_ms: dict[str, float] = field(default_factory=dict)

    def engines(self) -> list[str]:
        """Engines that produced something for this item."""
        if self.item.kind == "char":
            return sorted(self.chars)
        return sorted({name for line in self.lines for name in line})


def read_via_server(
    items: Iterable[Item], url: str, engines: list[str] | None = None, timeout_s: float = 120.0
) -> Iterator[Reading]:
    """Submit each item to the API (mode from its kind; ``engines`` or every enabled one) and collect readings."""
    form = {"engines": ",".join(engines)} if engines else {}
    with requests.Session() as http:
        for item in items:
            with item.path.open("rb") as handle:
                data = {"mode": MODE_FOR_KIND[item.kind], **form}
                response = http.post(f"{url}/v1/jobs", files={"image": handle}, data=data, timeout=60)
            if response.status_code != 202:
                raise RuntimeError(f"{item.path}: {response.status_code} {response.text.strip()}")
            yield reading_from_job(item, _wait(http, url + response.headers["Location"], timeout_s))


def _wait(http: requests.Session, job_url: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = http.get(job_url, timeout=30).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"{job_url} not finished after {timeout_s}s")
        time.sleep(0.02)


def reading_from_job(item: Item, job: dict[str, Any]) -> Reading:
    """Rebuild the engines' raw readings from a finished job's result."""
    reading = Reading(item)
    if job["status"] != "succeeded":
        reading.failed = {"*": str(job.get("error"))}
        return reading
    result = job["result"]
    versions = result.get("model_versions", {})
    for name, view in result["engines"].items():
        if view.get("error"):
            reading.failed[name] = view["error"]["code"]
        else:
            reading.engine_ms[name] = float(view.get("elapsed_ms", 0.0))
    if item.kind == "char":
        for name, view in result["engines"].items():
            if not view.get("error"):
                candidates = tuple(CharCandidate(c["character"], c["confidence"]) for c in view.get("top5", []))
                reading.chars[name] = CharResult(name, versions.get(name, ""), candidates)
        return reading
    for line in result["lines"]:
        reading.lines.append(
            {
                name: TextResult(name, versions.get(name, ""), h["text"], tuple(h["char_confidences"]))
                for name, h in line["engines"].items()
            }
        )
    return reading


def read_locally(
    items: Iterable[Item],
    engines: dict[str, Engine],
    layout: Engine | None,
    text_steps: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[Reading]:
    """Run the engines in this process on each item, as the workers would.

    ``text_steps``: engine -> optional preprocessing steps (:mod:`engines.steps`) for word, line and page
    items, as a preset's ``preprocess`` makes the workers apply them.
    """
    for item in items:
        # Decoded exactly as the API does (EXIF orientation, transparency on white, 16-bit scaling).
        validated = validate_image(item.path.read_bytes(), max_bytes=1 << 30, max_pixels=1 << 30)
        yield _read_one(item, decode_png(validated.png), engines, layout, text_steps or {})


def _read_one(
    item: Item,
    pixels: np.ndarray,
    engines: dict[str, Engine],
    layout: Engine | None,
    text_steps: Mapping[str, Sequence[str]],
) -> Reading:
    reading = Reading(item)
    crops = [pixels]
    if item.kind == "page":
        if layout is None:
            raise RuntimeError("page items need a layout engine")
        crops = page_crops(pixels, layout)
    for name, engine in engines.items():
        started = time.perf_counter()
        steps = text_steps.get(name) if item.kind != "char" else None
        ready = [apply_steps(crop, steps) for crop in crops] if steps else crops
        try:
            results = engine.recognize(ready, "char" if item.kind == "char" else "text")
        except EngineError as exc:
            reading.failed[name] = exc.code
            continue
        except Exception as exc:  # noqa: BLE001 - as in the workers, a broken engine fails only itself
            reading.failed[name] = f"failed: {type(exc).__name__}: {exc}"
            continue
        reading.engine_ms[name] = (time.perf_counter() - started) * 1000.0
        if item.kind == "char":
            reading.chars[name] = results[0]  # type: ignore[assignment]
        else:
            _add_lines(reading, name, results)
    return reading


def _add_lines(reading: Reading, name: str, results: list[Any]) -> None:
    while len(reading.lines) < len(results):
        reading.lines.append({})
    for line, result in zip(reading.lines, results, strict=False):
        line[name] = result


def page_crops(
    pixels: np.ndarray,
    layout: Engine,
    upright: bool = True,
    regions: TesseractRegions | Literal["settings"] | None = "settings",
) -> list[np.ndarray]:
    """Line crops in reading order, found exactly as a page job's layout step finds them (the page turned
    upright and straightened first, lines grouped into blocks, boxes padded). ``regions`` as
    :func:`jobs.page_layout.find_lines` takes it (default: the settings' reading order)."""
    if upright:
        pixels, _ = upright_page(pixels, layout)
    boxes = find_lines(pixels, layout, regions)["boxes"]
    return [pixels[top:bottom, left:right] for left, top, right, bottom in boxes]


def with_progress(readings: Iterator[Reading], total: int, enabled: bool) -> Iterator[Reading]:
    """A progress bar on stderr while the readings come in."""
    if not enabled:
        yield from readings
        return
    from tqdm import tqdm

    yield from tqdm(readings, total=total, unit="item", desc="reading")


ReadFunction = Callable[[list[Item]], Iterator[Reading]]


def reading_to_dict(reading: Reading) -> dict[str, Any]:
    """A JSON-ready form of one item's raw readings (``ocr eval --save-readings``)."""
    item = reading.item
    return {
        "item": {"path": str(item.path), "kind": item.kind, "truth": item.truth, "groups": item.groups},
        "chars": {name: result.to_dict() for name, result in reading.chars.items()},
        "lines": [{name: result.to_dict() for name, result in line.items()} for line in reading.lines],
        "failed": reading.failed,
        "engine_ms": reading.engine_ms,
    }


def reading_from_dict(data: dict[str, Any]) -> Reading:
    """Inverse of :func:`reading_to_dict`."""
    raw = data["item"]
    item = Item(Path(raw["path"]), raw["kind"], raw["truth"], dict(raw.get("groups") or {}))
    return Reading(
        item,
        chars={name: CharResult.from_dict(result) for name, result in data.get("chars", {}).items()},
        lines=[{name: TextResult.from_dict(r) for name, r in line.items()} for line in data.get("lines", [])],
        failed=dict(data.get("failed") or {}),
        engine_ms={name: float(ms) for name, ms in (data.get("engine_ms") or {}).items()},
    )


def save_readings(path: Path, readings: Iterable[Reading]) -> None:
    """Write readings as JSON lines, one item per line, so voting can be refitted without the engines."""
    with path.open("w", encoding="utf-8") as handle:
        for reading in readings:
            handle.write(json.dumps(reading_to_dict(reading), ensure_ascii=False) + "\n")


def load_readings(paths: Sequence[Path]) -> list[Reading]:
    """Readings saved by :func:`save_readings`; several files (e.g. one per engine) merge per item."""
    merged: dict[tuple[str, str], Reading] = {}
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    reading = reading_from_dict(json.loads(line))
                    key = (str(reading.item.path), reading.item.kind)
                    merged[key] = _merge(merged[key], reading) if key in merged else reading
    return list(merged.values())


def _merge(into: Reading, other: Reading) -> Reading:
    """One item's readings from two runs (different engines): the later run wins per engine."""
    lines = [dict(line) for line in into.lines]
    while len(lines) < len(other.lines):
        lines.append({})
    for line, extra in zip(lines, other.lines, strict=False):
        line.update(extra)
    return Reading(
        into.item,
        chars={**into.chars, **other.chars},
        lines=lines,
        failed={**into.failed, **other.failed},
        engine_ms={**into.engine_ms, **other.engine_ms},
    )
