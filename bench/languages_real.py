"""The German and French lines of the real data, by language, for measuring ``languages=deu`` / ``fra``.

    python bench/languages_real.py OUT [--shared ../shared/data]

    python bench/languages_real.py PRESET --merge FITTED GENERAL [--kinds printed]

Writes ``OUT/fit_<lang>.tsv`` (the fitting part, without the lines ``line_reader`` trained on, as the
general preset's fit) and ``OUT/final_<lang>.tsv`` (the part :func:`evaluation.realdata.in_final_check`
keeps apart) for ``deu`` and ``fra``, with a ``language`` column and the ``fit_kind`` ``ocr calibrate``
fits by, and ``OUT/fit_deu_hand.tsv`` (German prints and the French handwritten fitting lines: see
:func:`with_handwriting`). ``--merge`` writes a language preset from ``ocr calibrate``'s output
(:func:`merged_preset`). Read them with ``ocr eval --local --save-readings`` (``OCR_TESSERACT_LANG`` picks Tesseract's
data for the reading), fit with ``ocr calibrate`` and score with ``bench/accuracy_real.py --by group``.

The languages come from the sources (``../shared/data/real-fit/README.md``): the 19th-century prints
(OCR-D line GT bag, archiscribe, Kant, gt_structure_text) are German, the typescripts (tapuscorpus) and
the handwritten wills and notaries' registers are French.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evaluation.manifest import Item, load_items, write_manifest
from evaluation.realdata import FIT_KIND_OF_GROUP, in_final_check
from training.lines.data import FINAL_SHARE, is_trained_fit_item
from training.lines.train import DEFAULT_SHARED

FRENCH_SOURCES = {"tapuscorpus", "testaments-de-poilus", "lectaurep-repertoires"}
GERMAN_SOURCES = {"ocrd-assets-linegt", "archiscribe", "ocrd-assets-kant", "ocrd-gt-structure-text"}


def language_of(item: Item, folder: Path) -> str | None:
    """``deu`` or ``fra`` for a line of a German or French source; None for anything else."""
    source = item.path.relative_to(folder).parts[0]
    if item.kind != "line":
        return None
    if source in GERMAN_SOURCES:
        return "deu"
    return "fra" if source in FRENCH_SOURCES else None


def split(shared: Path) -> dict[str, list[Item]]:
    """``fit_<lang>`` and ``final_<lang>`` items of ``real-fit``."""
    folder = shared / "real-fit"
    parts: dict[str, list[Item]] = {}
    for item in load_items(folder / "manifest.tsv"):
        language = language_of(item, folder)
        if language is None:
            continue
        final = in_final_check(item, FINAL_SHARE)
        if not final and is_trained_fit_item(item, folder):
            continue  # an engine has seen it: no vote is fitted on it
        group = item.groups.get("group", "")
        groups = {**item.groups, "set": "real-fit", "fit_kind": FIT_KIND_OF_GROUP[group], "language": language}
        name = f"{'final' if final else 'fit'}_{language}"
        parts.setdefault(name, []).append(Item(item.path, item.kind, item.truth, groups))
    return parts


def with_handwriting(parts: dict[str, list[Item]], language: str) -> list[Item]:
    """The fitting lines of ``language`` and, when it has no handwriting of its own, the French handwritten
    fitting lines: a language preset must also vote well on a hand (Tesseract reads none), and the real data
    holds no German handwriting outside what ``line_reader`` trained on."""
    own = parts[f"fit_{language}"]
    if any(item.groups["group"] == "handwritten" for item in own):
        return own
    return own + [item for item in parts["fit_fra"] if item.groups["group"] == "handwritten"]


def merged_preset(fitted: dict[str, Any], general: dict[str, Any], take: set[str]) -> dict[str, Any]:
    """A language preset: the kinds in ``take`` as fitted on the language's lines, and the general preset's
    voting for every other kind (and its top level), recorded under ``fitted.kinds_from_general``."""
    fitted_kinds = {kind for kind in fitted["kinds"] if kind in take and kind not in fitted["fitted"]["fell_back"]}
    kinds = {**general["kinds"], **{kind: fitted["kinds"][kind] for kind in fitted_kinds}}
    taken = sorted(set(kinds) - fitted_kinds)
    # The top level (weights, method, calibration: a job of a kind the preset lacks) is the general preset's too.
    top = {key: general[key] for key in ("weights", "method", "calibration")}
    return {**fitted, **top, "kinds": kinds, "fitted": {**fitted["fitted"], "kinds_from_general": taken}}


def main() -> None:
    """Write the manifests and say how many lines each holds; with ``--merge``, write a language preset."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--merge", nargs=2, type=Path, metavar=("FITTED", "GENERAL"), help="write OUT as a preset")
    parser.add_argument("--kinds", default="printed", help="--merge: the fitted kinds to take (comma-separated)")
    args = parser.parse_args()
    if args.merge:
        fitted, general = (json.loads(path.read_text()) for path in args.merge)
        preset = merged_preset(fitted, general, set(args.kinds.split(",")))
        args.out.write_text(json.dumps(preset, indent=2, sort_keys=True) + "\n")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    parts = split(args.shared)
    parts["fit_deu_hand"] = with_handwriting(parts, "deu")
    for name, items in sorted(parts.items()):
        write_manifest(args.out / f"{name}.tsv", items)
        groups: dict[str, int] = {}
        for item in items:
            groups[item.groups["group"]] = groups.get(item.groups["group"], 0) + 1
        print(name, len(items), groups)


if __name__ == "__main__":
    main()
