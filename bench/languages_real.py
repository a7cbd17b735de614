"""The German and French lines of the real data, by language, for measuring ``languages=deu`` / ``fra``.

    python bench/languages_real.py OUT [--shared ../shared/data]

Writes ``OUT/fit_<lang>.tsv`` (the fitting part, without the lines ``line_reader`` trained on, as the
general preset's fit) and ``OUT/final_<lang>.tsv`` (the part :func:`evaluation.realdata.in_final_check`
keeps apart) for ``deu`` and ``fra``, with a ``language`` column and the ``fit_kind`` ``ocr calibrate``
fits by. Read them with ``ocr eval --local --save-readings`` (``OCR_TESSERACT_LANG`` picks Tesseract's
data for the reading), fit with ``ocr calibrate`` and score with ``bench/accuracy_real.py --by group``.

The languages come from the sources (``../shared/data/real-fit/README.md``): the 19th-century prints
(OCR-D line GT bag, archiscribe, Kant, gt_structure_text) are German, the typescripts (tapuscorpus) and
the handwritten wills and notaries' registers are French.
"""

from __future__ import annotations

import argparse
from pathlib import Path

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


def main() -> None:
    """Write the four manifests and say how many lines each holds."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, items in sorted(split(args.shared).items()):
        write_manifest(args.out / f"{name}.tsv", items)
        groups: dict[str, int] = {}
        for item in items:
            groups[item.groups["group"]] = groups.get(item.groups["group"], 0) + 1
        print(name, len(items), groups)


if __name__ == "__main__":
    main()
