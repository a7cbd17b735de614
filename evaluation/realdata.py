"""The real labelled sets in ``../shared/data`` as one manifest for fitting, with a fixed final-check part.

    python -m evaluation.realdata OUT_DIR [--shared ../shared/data] [--final-share 0.2] [--digits 20]

Writes ``OUT_DIR/fit.tsv`` (items to fit and cross-validate on), ``OUT_DIR/final.tsv`` (items kept apart
for the final check: never fitted or tuned on) and ``OUT_DIR/chars/`` (held-out MNIST and CoMNIST glyphs,
written at run time, never committed). Every item carries a ``fit_kind`` column: the kind of crop a
preset holds weights for (``char``, ``printed``, ``handwritten``, ``scene``, ``page``).

The final-check part is chosen by a hash of the file name, so it stays the same across runs and
machines whatever else changes.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from evaluation.manifest import Item, load_items, write_manifest
from evaluation.samples import handwriting_set

# The manifests' ``group`` column -> the kind of crop a preset fits weights for.
FIT_KIND_OF_GROUP = {
    "printed-line": "printed",
    "printed-en": "printed",
    "handwritten": "handwritten",
    "handwritten-en": "handwritten",
    "scene-word": "scene",
    "page": "page",
    "page-en": "page",
}
REAL_SETS = ("real-fit", "real-fit-en")


def in_final_check(item: Item, share: float) -> bool:
    """Whether an item belongs to the part kept apart (a stable hash of its file name)."""
    digest = hashlib.sha256(item.path.name.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def real_items(shared: Path, chars_dir: Path, digits_per_class: int, seed: int) -> list[Item]:
    """Every real labelled item, each with ``fit_kind`` and ``set`` groups."""
    items: list[Item] = []
    for name in REAL_SETS:
        for item in load_items(shared / name / "manifest.tsv"):
            kind = FIT_KIND_OF_GROUP.get(item.groups.get("group", ""), "printed")
            items.append(Item(item.path, item.kind, item.truth, {**item.groups, "set": name, "fit_kind": kind}))
    for item in handwriting_set(chars_dir, shared, digits_per_class, seed):
        items.append(Item(item.path, item.kind, item.truth, {**item.groups, "set": "handwriting", "fit_kind": "char"}))
    return items


def heldout_font_glyphs(out: Path, per_class: int, seed: int) -> list[Item]:
    """All 62 classes drawn in the font families the CNN never trained on, augmented, EMNIST-style.

    The real characters here (MNIST digits, CoMNIST capitals) come from the CNN's own training
    collections and have no lowercase; these glyphs keep a fit from trusting the CNN on all 62 classes
    for that reason alone. They are synthetic: reported apart (``set`` = ``heldout-fonts``).
    """
    from PIL import Image

    from training.classes import CLASSES
    from training.fonts import installed_fonts
    from training.synth import synthesize

    out.mkdir(parents=True, exist_ok=True)
    glyphs = synthesize(installed_fonts(held_out=True), per_class, seed)
    items = []
    for index, (image, label) in enumerate(zip(glyphs.images, glyphs.labels, strict=True)):
        path = out / f"font_{index:04d}.png"
        Image.fromarray(image).save(path)
        groups = {"source": "heldout-fonts", "style": "synthetic", "set": "heldout-fonts", "fit_kind": "char"}
        items.append(Item(path, "char", CLASSES[int(label)], groups))
    return items


def main() -> None:
    """Write fit.tsv and final.tsv."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--final-share", type=float, default=0.2)
    parser.add_argument("--digits", type=int, default=20, help="MNIST digits per class (CoMNIST: its whole test split)")
    parser.add_argument("--font-glyphs", type=int, default=4, help="synthetic held-out-font glyphs per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    items = real_items(args.shared, args.out / "chars", args.digits, args.seed)
    items += heldout_font_glyphs(args.out / "glyphs", args.font_glyphs, args.seed)
    final = [item for item in items if in_final_check(item, args.final_share)]
    fit = [item for item in items if not in_final_check(item, args.final_share)]
    write_manifest(args.out / "fit.tsv", fit)
    write_manifest(args.out / "final.tsv", final)
    print(f"{len(fit)} items to fit on ({args.out / 'fit.tsv'}), {len(final)} kept apart ({args.out / 'final.tsv'})")


if __name__ == "__main__":
    main()
