"""Reading order on real scanned pages: how well a page job reads a whole page, in order, against Tesseract.

Each page item (kind ``page``) of ``real-fit/manifest.tsv`` and ``real-fit-en/manifest.tsv`` (groups
``page`` and ``page-en``) is read whole by several variants; each gives one text, its lines joined by
``\\n``, scored against the whole ground truth (the source's reading order) by order-sensitive CER, as
``ocr eval`` scores page items (:func:`evaluation.scoring.score`: both sides :func:`~evaluation.normalize.
normalise`-d, jiwer CER). Variants:

* ``default``: the page job path. :func:`evaluation.readings.page_crops` with PP-OCR (the layout engine)
  and ``upright=True`` (page turned upright and deskewed, lines detected, ordered as ``OCR_LAYOUT_ORDER``
  says: by default region by region in the order of Tesseract's page layout analysis,
  :func:`engines.layout.region_blocks`; padded); every crop goes through the preprocessing steps
  the default preset gives PP-OCR for page jobs (``page`` falls back to the ``line`` kind) and is read
  by PP-OCR, the only engine with a weight there; empty lines are left out, as the result's page text does.
* ``default_no_upright``: the same with ``upright=False``.
* ``xycut_order``: the page job path with the lines ordered by our XY-cut alone
  (:func:`engines.layout.reading_blocks`; ``OCR_LAYOUT_ORDER=xycut``, the order before Tesseract's regions).
* ``naive_order``: PP-OCR's line boxes on the upright page sorted by (top, left), padded with
  :func:`jobs.store.pad_box`, read by PP-OCR (same steps).
* ``tesseract_layout``: Tesseract's ``detect_lines`` (psm 3 blocks -> lines, in the order Tesseract returns
  them) on the upright page, padded, read by PP-OCR (same steps).
* ``tesseract_page``: Tesseract alone on the decoded page: ``tesserocr.PyTessBaseAPI(path=<tessdata>,
  lang=<OCR_TESSERACT_LANG>, psm=PSM.AUTO)``, ``SetImage`` of the page as decoded, ``GetUTF8Text()``;
  blank lines (Tesseract's paragraph breaks) dropped. The baseline a page job must beat.

Times are wall seconds per page and variant in this process (image decoding excluded; the upright step,
detection and recognition included).

Besides the ordered CER, every text gets an order-free score, the bag-of-words error
(:func:`bag_of_words_error`: words of both sides :func:`~evaluation.normalize.normalise`-d and split at
white space, compared as multisets; max(missing, extra) over the truth's word count), so that
recognition and order are measured apart: a page whose CER is far above its bag-of-words error lost
mostly to the order.

Diagnostic, not a variant: ``default, GT order`` is the default's own lines re-sorted into the ground
truth's order (:func:`in_truth_order`: each read line moved to the truth line it resembles most, if it
resembles one closely). Its gap to ``default`` estimates what the reading order costs on a page; the
rest of ``default``'s CER is detection and recognition. Badly read lines (cursive) stay where they are.

Reported per group, per fit/kept-apart split (:func:`evaluation.realdata.in_final_check`, share 0.2) and
overall: mean page CER with a 95% bootstrap interval (1000 resamples of pages), corpus CER (total edits
over total truth length, what ``ocr eval`` prints) with :func:`evaluation.fitting.bootstrap_ci`, and
paired intervals of each variant minus ``tesseract_page``; then one row per page.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/pages_real.py --data ../shared/data \\
        --out /tmp/pages_real.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.settings import Settings, get_settings
from engines.base import Engine
from engines.registry import load_engine_class
from engines.steps import apply_steps
from ensemble.fitted import load_fitted_presets
from ensemble.kinds import job_kind, voting_for
from evaluation.fitting import bootstrap_ci
from evaluation.manifest import Item, load_items
from evaluation.normalize import normalise
from evaluation.readings import Reading, page_crops
from evaluation.realdata import in_final_check
from evaluation.scoring import Answer, engine_answer, score
from jobs.images import validate_image
from jobs.page_layout import upright_page
from jobs.store import decode_png, pad_box

SETS = ("real-fit", "real-fit-en")
FINAL_SHARE = 0.2  # evaluation.realdata's default --final-share
SAMPLES = 1000
VARIANTS = ("default", "default_no_upright", "xycut_order", "naive_order", "tesseract_layout", "tesseract_page")
LABELS = {
    "default": "default",
    "default_no_upright": "default, no upright",
    "xycut_order": "XY-cut order",
    "naive_order": "naive order",
    "tesseract_layout": "tesseract layout + PP-OCR",
    "tesseract_page": "tesseract page",
}
BASELINE = "tesseract_page"
# The code a page job's layout runs through: digests in the JSON, since the tree may change between runs.
SOURCES = (
    "engines/layout.py",
    "engines/page_regions.py",
    "engines/orientation.py",
    "jobs/page_layout.py",
    "evaluation/readings.py",
    "engines/paddleocr.py",
    "engines/tesseract.py",
    "config/presets.d/general.json",
)
ROOT = Path(__file__).resolve().parents[1]
ORACLE = "default_gt_order"
MATCH_CUTOFF = 70.0
LABELS[ORACLE] = "default, GT order (diagnostic)"


@dataclass
class Readers:
    """The engines and the steps a page job's PP-OCR crops go through."""

    paddle: Engine
    tesseract: Engine
    tesseract_page: Any
    steps: list[str] | None
    layout_name: str


@dataclass
class PageResult:
    """One page: its item, and per variant the text, seconds and (if it broke) the error."""

    item: Item
    split: str
    texts: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    transform: dict[str, Any] | None = None


def page_items(data: Path) -> list[Item]:
    """Every page item of the real sets, with a ``set`` group."""
    items = []
    for name in SETS:
        for item in load_items(data / name / "manifest.tsv"):
            if item.kind == "page":
                items.append(Item(item.path, item.kind, item.truth, {**item.groups, "set": name}))
    return items


def build_readers(settings: Settings) -> Readers:
    """PP-OCR and Tesseract built from settings as ``ocr eval --local`` builds them, and the preset's steps."""
    layout_name = next(name for name in settings.layout_engines if name in settings.engines)
    paddle = load_engine_class("paddleocr", settings.engine_plugins).from_settings(settings)
    tesseract = load_engine_class("tesseract", settings.engine_plugins).from_settings(settings)
    import tesserocr

    api = tesserocr.PyTessBaseAPI(
        path=str(settings.tessdata_path) + "/", lang=settings.tesseract_lang, psm=tesserocr.PSM.AUTO
    )
    preset = load_fitted_presets(settings.presets_dir).get(settings.default_preset)
    rule = voting_for(preset.kinds, job_kind("page", None)) if preset is not None else None
    steps = (rule.preprocess.get("paddleocr") or None) if rule is not None else None
    return Readers(paddle, tesseract, api, steps, layout_name)


def read_crops(readers: Readers, crops: Sequence[np.ndarray], item: Item) -> tuple[str, int]:
    """PP-OCR's page text for ``crops`` (preset steps first; empty lines left out) and the number of lines."""
    ready = [apply_steps(crop, readers.steps) for crop in crops] if readers.steps else list(crops)
    results = readers.paddle.recognize(ready, "text")
    reading = Reading(item, lines=[{"paddleocr": result} for result in results])  # type: ignore[misc]
    answer = engine_answer(reading, "paddleocr")
    return answer.text, sum(1 for result in results if result.text)  # type: ignore[union-attr]


def boxes_to_crops(page: np.ndarray, boxes: Sequence[tuple[int, int, int, int]]) -> list[np.ndarray]:
    """Padded crops as the worker pads a page's line boxes."""
    height, width = page.shape[:2]
    padded = [pad_box(box, width, height) for box in boxes]
    return [page[top:bottom, left:right] for left, top, right, bottom in padded]


def variant_default(readers: Readers, pixels: np.ndarray, item: Item, upright: bool = True) -> tuple[str, int]:
    """The page job path."""
    return read_crops(readers, page_crops(pixels, readers.paddle, upright=upright), item)


def variant_no_upright(readers: Readers, pixels: np.ndarray, item: Item) -> tuple[str, int]:
    """The page job path without the upright step."""
    return variant_default(readers, pixels, item, upright=False)


def variant_xycut(readers: Readers, pixels: np.ndarray, item: Item) -> tuple[str, int]:
    """The page job path with the lines in our XY-cut's order (no page regions)."""
    return read_crops(readers, page_crops(pixels, readers.paddle, upright=True, regions=None), item)


def variant_naive(readers: Readers, pixels: np.ndarray, item: Item) -> tuple[str, int]:
    """PP-OCR boxes sorted by (top, left), the order that interleaves columns."""
    page, _ = upright_page(pixels)
    boxes = sorted(readers.paddle.detect_lines(page), key=lambda box: (box[1], box[0]))
    return read_crops(readers, boxes_to_crops(page, boxes), item)


def variant_tesseract_layout(readers: Readers, pixels: np.ndarray, item: Item) -> tuple[str, int]:
    """Tesseract's lines in its own order, read by PP-OCR."""
    page, _ = upright_page(pixels)
    return read_crops(readers, boxes_to_crops(page, readers.tesseract.detect_lines(page)), item)


def variant_tesseract_page(readers: Readers, pixels: np.ndarray, item: Item) -> tuple[str, int]:
    """Tesseract alone, psm 3, on the page as decoded."""
    from PIL import Image

    readers.tesseract_page.SetImage(Image.fromarray(pixels))
    text = readers.tesseract_page.GetUTF8Text() or ""
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines), len(lines)


RUNNERS: dict[str, Callable[[Readers, np.ndarray, Item], tuple[str, int]]] = {
    "default": variant_default,
    "default_no_upright": variant_no_upright,
    "xycut_order": variant_xycut,
    "naive_order": variant_naive,
    "tesseract_layout": variant_tesseract_layout,
    "tesseract_page": variant_tesseract_page,
}


def run_page(readers: Readers, item: Item, variants: Sequence[str]) -> PageResult:
    """Every variant on one page, timed."""
    split = "final" if in_final_check(item, FINAL_SHARE) else "fit"
    result = PageResult(item, split)
    validated = validate_image(item.path.read_bytes(), max_bytes=1 << 30, max_pixels=1 << 30)
    pixels = decode_png(validated.png)
    for name in variants:
        started = time.perf_counter()
        try:
            text, lines = RUNNERS[name](readers, pixels, item)
        except Exception as exc:  # noqa: BLE001 - one broken variant must not stop the run
            text, lines = "", 0
            result.errors[name] = f"{type(exc).__name__}: {exc}"
        result.seconds[name] = time.perf_counter() - started
        result.texts[name], result.lines[name] = text, lines
        print(
            f"  {item.path.name[:48]:48} {name:20} {result.seconds[name]:7.1f} s  CER {page_cer(item, text):.3f}",
            file=sys.stderr,
            flush=True,
        )
    _, transform = upright_page(pixels)
    result.transform = {"rotation": transform.rotation, "skew": float(transform.skew)} if transform else None
    if "default" in variants:
        result.texts[ORACLE] = in_truth_order(result.texts["default"], item.truth)
        result.seconds[ORACLE] = result.seconds["default"]
    return result


def in_truth_order(text: str, truth: str) -> str:
    """``text``'s lines re-sorted into ``truth``'s order (a diagnostic of what the order costs).

    A line goes to the truth line it resembles most (``fuzz.ratio`` of the normalised texts, at least
    :data:`MATCH_CUTOFF`; among equal matches, such as repeated separator lines, the one nearest after the
    previous line's place). A line that resembles none closely stays after the line read before it.
    """
    targets = [normalise(line) for line in truth.split("\n")]
    lines = text.split("\n") if text else []
    places, previous = [], -1
    for position, line in enumerate(lines):
        scores = [fuzz.ratio(normalise(line), target) for target in targets]
        best = max(scores)
        if best >= MATCH_CUTOFF:
            tied = [index for index, value in enumerate(scores) if value >= best - 0.5]
            previous = min(tied, key=lambda index: (abs(index - (previous + 1)), index))
        places.append((previous, position))
    return "\n".join(lines[position] for _, position in sorted(places))


def bag_of_words_error(truth: str, text: str) -> float:
    """Order-free word error: both sides normalised and split at white space, compared as multisets;
    max(truth words not read, read words not in the truth) over the number of truth words."""
    want, got = Counter(normalise(truth).split()), Counter(normalise(text).split())
    missing, extra = sum((want - got).values()), sum((got - want).values())
    return max(missing, extra) / max(1, sum(want.values()))


def page_bow(item: Item, text: str) -> float:
    """:func:`bag_of_words_error` of one page against its ground truth."""
    return bag_of_words_error(item.truth, text)


def page_cer(item: Item, text: str) -> float:
    """CER of one page exactly as ``ocr eval`` scores it."""
    return float(score([Reading(item)], [Answer(text, 0.0)])["cer"])


def mean_ci(values: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean, resampling pages."""
    if values.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, values.size, size=(SAMPLES, values.size))
    low, high = np.percentile(values[draws].mean(axis=1), [2.5, 97.5])
    return float(low), float(high)


def summary(results: Sequence[PageResult], variants: Sequence[str]) -> dict[str, Any]:
    """Per variant: mean page CER and corpus CER with intervals, mean seconds; paired with the baseline."""
    readings = [Reading(r.item) for r in results]
    cers = {v: np.array([page_cer(r.item, r.texts[v]) for r in results]) for v in variants}
    bows = {v: np.array([page_bow(r.item, r.texts[v]) for r in results]) for v in variants}
    out: dict[str, Any] = {"pages": len(results)}
    for v in variants:
        answers = [Answer(r.texts[v], 0.0) for r in results]
        corpus = float(score(readings, answers)["cer"])
        low, high = bootstrap_ci(readings, answers, samples=SAMPLES)
        entry = {
            "mean_cer": float(cers[v].mean()),
            "mean_cer_ci": mean_ci(cers[v]),
            "mean_bow": float(bows[v].mean()),
            "mean_bow_ci": mean_ci(bows[v]),
            "corpus_cer": corpus,
            "corpus_cer_ci": (1.0 - high, 1.0 - low),
            "mean_seconds": float(np.mean([r.seconds[v] for r in results])),
        }
        if BASELINE in variants and v != BASELINE:
            base = [Answer(r.texts[BASELINE], 0.0) for r in results]
            diff = cers[v] - cers[BASELINE]
            low, high = bootstrap_ci(readings, answers, base, samples=SAMPLES)
            entry["minus_baseline_mean"] = float(diff.mean())
            entry["minus_baseline_mean_ci"] = mean_ci(diff)
            entry["minus_baseline_corpus"] = corpus - float(score(readings, base)["cer"])
            entry["minus_baseline_corpus_ci"] = (-high, -low)
        out[v] = entry
    return out


def subsets(results: Sequence[PageResult]) -> dict[str, list[PageResult]]:
    """Groups, splits and all pages."""
    out: dict[str, list[PageResult]] = {}
    for group in sorted({r.item.groups.get("group", "") for r in results}):
        out[group] = [r for r in results if r.item.groups.get("group", "") == group]
    out["fit pages"] = [r for r in results if r.split == "fit"]
    out["kept-apart (final)"] = [r for r in results if r.split == "final"]
    out["all"] = list(results)
    return {name: chosen for name, chosen in out.items() if chosen}


def pct(value: float) -> str:
    return f"{value:.1%}"


def ci(pair: Sequence[float], signed: bool = False) -> str:
    fmt = "{:+.1%}" if signed else "{:.1%}"
    return "[" + fmt.format(pair[0]) + ", " + fmt.format(pair[1]) + "]"


def tables(results: Sequence[PageResult], variants: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
    """Markdown tables (summary, differences, per page) and the summaries they show."""
    if "default" in variants:
        variants = [*variants, ORACLE]
    sums = {name: summary(chosen, variants) for name, chosen in subsets(results).items()}
    lines = [
        "Mean page CER [95% bootstrap CI, pages resampled]; corpus CER (as `ocr eval`) below it; mean "
        "bag-of-words error (order-free) [95% CI]; mean s/page.",
        "",
        "| pages | n | " + " | ".join(LABELS[v] for v in variants) + " |",
        "| --- | ---: |" + " ---: |" * len(variants),
    ]
    for name, s in sums.items():
        cells = [f"{pct(s[v]['mean_cer'])} {ci(s[v]['mean_cer_ci'])}" for v in variants]
        lines.append(f"| {name} | {s['pages']} | " + " | ".join(cells) + " |")
        cells = [f"corpus {pct(s[v]['corpus_cer'])} {ci(s[v]['corpus_cer_ci'])}" for v in variants]
        lines.append("| | | " + " | ".join(cells) + " |")
        cells = [f"BoW {pct(s[v]['mean_bow'])} {ci(s[v]['mean_bow_ci'])}" for v in variants]
        lines.append("| | | " + " | ".join(cells) + " |")
        seconds = ["-" if v == ORACLE else f"{s[v]['mean_seconds']:.1f} s" for v in variants]
        lines.append("| | | " + " | ".join(seconds) + " |")
    others = [v for v in variants if v not in (BASELINE, ORACLE)]
    if BASELINE in variants and others:
        lines += [
            "",
            f"Variant minus `{LABELS[BASELINE]}`, CER points (negative: better than Tesseract): "
            "mean page CER [95% paired CI]; corpus CER [95% paired CI].",
            "",
            "| pages | n | " + " | ".join(LABELS[v] for v in others) + " |",
            "| --- | ---: |" + " ---: |" * len(others),
        ]
        for name, s in sums.items():
            cells = [
                f"{s[v]['minus_baseline_mean']:+.1%} {ci(s[v]['minus_baseline_mean_ci'], True)}; "
                f"corpus {s[v]['minus_baseline_corpus']:+.1%} {ci(s[v]['minus_baseline_corpus_ci'], True)}"
                for v in others
            ]
            lines.append(f"| {name} | {s['pages']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Per page: CER / bag-of-words error (seconds).",
        "",
        "| page | group | split | upright (turn, skew) | GT lines | " + " | ".join(LABELS[v] for v in variants) + " |",
        "| --- | --- | --- | --- | ---: |" + " ---: |" * len(variants),
    ]
    for r in results:
        cells = [
            f"{pct(page_cer(r.item, r.texts[v]))} / {pct(page_bow(r.item, r.texts[v]))}"
            + ("" if v == ORACLE else f" ({r.seconds[v]:.1f})")
            for v in variants
        ]
        gt_lines = r.item.truth.count("\n") + 1
        turned = f"{r.transform['rotation']}, {r.transform['skew']:+.1f}" if r.transform else "none"
        lines.append(
            f"| {r.item.path.name[:60]} | {r.item.groups.get('group', '')} | {r.split} | {turned} | {gt_lines} | "
            + " | ".join(cells)
            + " |"
        )
    errors = [f"- {r.item.path.name} {v}: {e}" for r in results for v, e in r.errors.items()]
    if errors:
        lines += ["", "Errors:", *errors]
    return lines, sums


def to_json(results: Sequence[PageResult], readers: Readers, variants: Sequence[str]) -> dict[str, Any]:
    """Raw per-page numbers and texts."""
    if "default" in variants:
        variants = [*variants, ORACLE]
    return {
        "variants": list(variants),
        "sources_sha256": {
            name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest()[:16]
            for name in SOURCES
            if (ROOT / name).is_file()
        },
        "layout_engine": readers.layout_name,
        "paddleocr_steps": readers.steps,
        "paddleocr_version": readers.paddle.model_version,
        "tesseract_version": readers.tesseract.model_version,
        "pages": [
            {
                "file": str(r.item.path),
                "group": r.item.groups.get("group", ""),
                "split": r.split,
                "gt_lines": r.item.truth.count("\n") + 1,
                "upright": r.transform,
                "truth": r.item.truth,
                "cer": {v: page_cer(r.item, r.texts[v]) for v in variants},
                "bag_of_words_error": {v: page_bow(r.item, r.texts[v]) for v in variants},
                "seconds": {v: r.seconds[v] for v in variants},
                "lines_read": {v: r.lines.get(v, r.lines.get("default")) for v in variants},
                "texts": {v: r.texts[v] for v in variants},
                "errors": r.errors,
            }
            for r in results
        ],
    }


def main() -> None:
    """Read every page with every variant, print the tables, write the raw numbers."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder holding the real sets")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {','.join(VARIANTS)}")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N pages")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the raw per-page numbers and texts")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in RUNNERS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {list(VARIANTS)}")
    items = page_items(args.data)[: args.limit]
    readers = build_readers(get_settings())
    print(
        f"{len(items)} pages; layout engine {readers.layout_name}; PP-OCR steps {readers.steps}; "
        f"{readers.paddle.model_version}; {readers.tesseract.model_version}",
        file=sys.stderr,
        flush=True,
    )
    results: list[PageResult] = []
    for item in items:
        results.append(run_page(readers, item, variants))
        if args.out:
            args.out.write_text(json.dumps(to_json(results, readers, variants), ensure_ascii=False, indent=1))
    lines, sums = tables(results, variants)
    print("\n".join(lines))
    if args.out:
        data = {**to_json(results, readers, variants), "summary": sums}
        args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
