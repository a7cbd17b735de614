"""Labelled items to evaluate on: a TSV manifest, or a folder of character images named by label.

Manifest: a TSV file with a header; ``file`` (relative to the manifest), ``kind`` (char, word, line or
page) and ``ground_truth`` (newlines written as ``\\n``) are used, every other column groups results.
Folder: ``<folder>/<label>/<image>`` where each label is one character (``A/0001.png``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Kind = Literal["char", "word", "line", "page"]
KINDS: tuple[Kind, ...] = ("char", "word", "line", "page")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}


@dataclass(frozen=True)
class Item:
    """One labelled image."""

    path: Path
    kind: Kind
    truth: str
    groups: dict[str, str] = field(default_factory=dict)


class ManifestError(ValueError):
    """A manifest that cannot be read, with the line that is wrong."""


def load_items(source: Path) -> list[Item]:
    """Items from a TSV manifest (or a folder holding ``manifest.tsv``), or from per-label character folders."""
    if source.is_dir() and (source / "manifest.tsv").is_file():
        return _manifest_items(source / "manifest.tsv")
    if source.is_dir():
        return _folder_items(source)
    return _manifest_items(source)


def _manifest_items(path: Path) -> list[Item]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"file", "kind", "ground_truth"} - set(reader.fieldnames or [])
        if missing:
            raise ManifestError(f"{path}: missing column(s) {sorted(missing)}")
        items = []
        for line, row in enumerate(reader, start=2):
            kind = row["kind"].strip()
            if kind not in KINDS:
                raise ManifestError(f"{path}:{line}: kind {kind!r} is not one of {KINDS}")
            image = path.parent / row["file"]
            if not image.is_file():
                raise ManifestError(f"{path}:{line}: {image} not found")
            groups = {k: v for k, v in row.items() if k not in ("file", "kind", "ground_truth") and k and v}
            items.append(Item(image, kind, unescape(row["ground_truth"]), groups))  # type: ignore[arg-type]
    return items


def _folder_items(folder: Path) -> list[Item]:
    items = []
    for label_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if len(label_dir.name) != 1:
            raise ManifestError(f"{label_dir}: folder names must be one character (the label)")
        for image in sorted(label_dir.iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES:
                items.append(Item(image, "char", label_dir.name, {"folder": folder.name}))
    if not items:
        raise ManifestError(f"{folder}: no images found under per-label folders")
    return items


def unescape(text: str) -> str:
    """Ground truth as written in a manifest (``\\n`` for a newline, ``\\\\`` for a backslash)."""
    out, chars = [], iter(text)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t", "\\": "\\"}.get(nxt, "\\" + nxt))
        else:
            out.append(char)
    return "".join(out)


def escape(text: str) -> str:
    """Inverse of :func:`unescape`."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def write_manifest(path: Path, items: list[Item]) -> None:
    """Write items as a TSV manifest (files relative to it; group columns after the three used ones)."""
    group_names = sorted({name for item in items for name in item.groups})
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(
            handle, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None, escapechar=None, lineterminator="\n"
        )
        writer.writerow(["file", "kind", "ground_truth", *group_names])
        for item in items:
            relative = item.path.relative_to(path.parent) if item.path.is_relative_to(path.parent) else item.path
            writer.writerow(
                [str(relative), item.kind, escape(item.truth), *(item.groups.get(g, "") for g in group_names)]
            )
