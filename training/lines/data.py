"""Real training lines: ``real-train`` split by document, plus licensed parts of ``real-fit``/``real-fit-en``.

``real-train`` is for training only. Of ``real-fit`` and ``real-fit-en`` only sources whose README states
CC BY, CC BY-SA or CC0 for their transcriptions are used, only from the fit part (never the 20% that
:func:`evaluation.realdata.in_final_check` keeps apart), and of that only half of the pages (by a hash
of the page): the other half stays unseen by the recognizer, so that fitting the presets on it
measures the recognizer on lines it never trained on.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from evaluation.manifest import Item, load_items
from evaluation.realdata import in_final_check
from training.lines.charset import training_text

REAL_TRAIN = "real-train"
# real-fit / real-fit-en folders whose transcriptions are CC BY, CC BY-SA or CC0 (their READMEs).
LICENSED_FIT_SOURCES = {
    "archiscribe": "CC BY 4.0",
    "ocrd-gt-structure-text": "CC BY-SA 4.0",
    "tapuscorpus": "CC BY 4.0",
    "testaments-de-poilus": "CC BY 4.0",
    "lectaurep-repertoires": "CC BY 4.0",
    "stanford-memorials": "CC BY 4.0 (transcriptions)",
    "ehri-typescripts": "CC BY 4.0",
    "fondue-un-print": "CC BY 4.0 (annotation)",
}
FIT_SETS = ("real-fit", "real-fit-en")
FINAL_SHARE = 0.2  # what evaluation.realdata keeps apart
TRAINED_SHARE_OF_FIT = 0.5


@dataclass(frozen=True)
class LineSample:
    """One real line image and its text, with its group and document (for splitting)."""

    path: Path
    text: str
    group: str
    document: str


def share_of(key: str, salt: str) -> float:
    """A stable number in [0, 1) for ``key`` (a sha256 hash): splits that never change between runs."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def real_train_lines(shared: Path) -> list[LineSample]:
    """Every line of ``real-train`` whose text fits the character set."""
    manifest = shared / REAL_TRAIN / "manifest.tsv"
    lines = []
    with manifest.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            text = training_text(row["ground_truth"])
            if text is not None:
                lines.append(LineSample(manifest.parent / row["file"], text, row["group"], row["document"]))
    return lines


def fit_source_of(item: Item, shared_set: Path) -> str:
    """The source folder of a real-fit item (the first part of its path in the manifest)."""
    return item.path.relative_to(shared_set).parts[0]


def is_trained_fit_item(item: Item, shared_set: Path) -> bool:
    """Whether the recognizer trains on this real-fit item: licensed source, fit part, trained half."""
    if item.kind not in ("line", "word") or fit_source_of(item, shared_set) not in LICENSED_FIT_SOURCES:
        return False
    if in_final_check(item, FINAL_SHARE):
        return False
    return share_of(item.groups.get("source", item.path.name), "line-reader-fit") < TRAINED_SHARE_OF_FIT


def licensed_fit_lines(shared: Path) -> list[LineSample]:
    """The trained half of the licensed fit part of ``real-fit`` and ``real-fit-en``."""
    lines = []
    for name in FIT_SETS:
        folder = shared / name
        for item in load_items(folder / "manifest.tsv"):
            if not is_trained_fit_item(item, folder):
                continue
            text = training_text(item.truth)
            if text is not None:
                group = f"{name}:{item.groups.get('group', '')}"
                lines.append(LineSample(item.path, text, group, item.groups.get("source", item.path.name)))
    return lines


def split_by_document(lines: Iterable[LineSample], share: float) -> tuple[list[LineSample], list[LineSample]]:
    """(train, validation): whole documents go to validation by a stable hash, never single lines."""
    train, validation = [], []
    for line in lines:
        (validation if share_of(line.document, "line-reader-val") < share else train).append(line)
    return train, validation
