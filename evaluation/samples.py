"""Labelled sample sets: rendered with Debian fonts, or read from the shared real handwriting at run time.

    python -m evaluation.samples rendered OUT_DIR [--seed 0] [--chars 60 --words 30 --lines 15 --pages 3]
    python -m evaluation.samples handwriting OUT_DIR [--shared ../shared/data] [--per-class 10] [--words 0]

Both write PNG files and a ``manifest.tsv`` (with ``source`` and ``style`` columns for grouping).
Real handwriting is never copied into the repository: build that set into a temporary folder.
"""

from __future__ import annotations

import argparse
import gzip
import random
import string
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from evaluation.manifest import Item, write_manifest

FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
]
WORDS = [
    "invoice",
    "total",
    "amount",
    "paid",
    "order",
    "number",
    "date",
    "street",
    "station",
    "river",
    "garden",
    "window",
    "market",
    "letter",
    "quarter",
    "doctor",
    "bridge",
    "yellow",
    "silver",
    "planet",
    "family",
    "winter",
    "summer",
    "record",
    "report",
    "office",
    "weekly",
    "delivery",
    "customer",
    "balance",
    "account",
    "address",
    "company",
    "product",
    "service",
    "payment",
    "receipt",
]
CHARSET = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _draw(text: str, font_path: str, size: int, rng: random.Random, pad: int = 14) -> Image.Image:
    font = ImageFont.truetype(font_path, size)
    lines = text.split("\n")
    widths = [font.getbbox(line)[2] for line in lines]
    height = size + size // 2
    image = Image.new("L", (max(widths) + 2 * pad, height * len(lines) + 2 * pad), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((pad, pad + row * height), line, font=font, fill=rng.randint(0, 60))
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    noise = np.asarray(image, dtype=np.float32) + np.random.default_rng(rng.randint(0, 2**31)).normal(
        0, 8, image.size[::-1]
    )
    return Image.fromarray(np.clip(noise, 0, 255).astype(np.uint8))


def rendered_set(out: Path, seed: int, chars: int, words: int, lines: int, pages: int) -> list[Item]:
    """Printed characters, words, lines and pages in DejaVu fonts, with blur and noise."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    items: list[Item] = []

    def add(kind: str, text: str, size: int) -> None:
        font = rng.choice(FONTS)
        path = out / f"{kind}_{len(items):04d}.png"
        image = _draw(text, font, size, rng)
        degraded = rng.random() < 0.4
        (_degrade(image, rng) if degraded else image).save(path)
        style = "degraded" if degraded else "printed"
        items.append(Item(path, kind, text, {"source": "rendered", "style": style}))  # type: ignore[arg-type]

    for _ in range(chars):
        add("char", rng.choice(CHARSET), rng.randint(28, 48))
    for _ in range(words):
        add("word", rng.choice(WORDS).capitalize() if rng.random() < 0.3 else rng.choice(WORDS), rng.randint(20, 36))
    for _ in range(lines):
        add("line", _sentence(rng), rng.randint(18, 30))
    for _ in range(pages):
        add("page", "\n".join(_sentence(rng) for _ in range(rng.randint(3, 5))), rng.randint(18, 26))
    write_manifest(out / "manifest.tsv", items)
    return items


def _degrade(image: Image.Image, rng: random.Random) -> Image.Image:
    """A poor scan or photo: low resolution, blur, a slight tilt, uneven lighting and speckle."""
    width, height = image.size
    factor = rng.uniform(0.35, 0.6)
    small = image.resize((max(1, round(width * factor)), max(1, round(height * factor))), Image.Resampling.BILINEAR)
    image = small.resize((width, height), Image.Resampling.BILINEAR).filter(
        ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2))
    )
    image = image.rotate(rng.uniform(-3, 3), resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    pixels = np.asarray(image, dtype=np.float32)
    gradient = np.linspace(0, rng.uniform(20, 60), pixels.shape[1], dtype=np.float32)[None, :]
    speckle = np.random.default_rng(rng.randint(0, 2**31)).random(pixels.shape) < 0.01
    pixels = np.where(speckle, 90.0, pixels * 0.85 + gradient)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 6))]
    if rng.random() < 0.5:
        words.insert(rng.randint(0, len(words)), str(rng.randint(2, 9999)))
    return " ".join(words).capitalize()


def handwriting_set(out: Path, shared: Path, per_class: int, seed: int, words: int = 0) -> list[Item]:
    """Real handwritten characters: MNIST digits and CoMNIST uppercase, from the shared folder.

    With ``words``, also that many words and numbers composed from the same held-out glyphs.

    Only the parts the shipped character CNN never trained on: MNIST images 8000-8999 and the CoMNIST
    files whose name hashes into the CNN's test split (training/real.py).
    """
    from training.real import MNIST_SPLITS, comnist_split_of

    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    items: list[Item] = []
    images, labels = _mnist(shared / "mnist-t10k-part")
    start, end = MNIST_SPLITS["test"]
    for digit in range(10):
        for index in rng.sample([i for i in range(start, end) if labels[i] == digit], per_class):
            path = out / f"mnist_{index:05d}.png"
            Image.fromarray(images[index]).save(path)
            items.append(Item(path, "char", str(digit), {"source": "mnist", "style": "handwritten"}))
    for letter_dir in sorted((shared / "comnist-upper").iterdir()):
        files = sorted(f for f in letter_dir.glob("*.png") if comnist_split_of(f.name) == "test")
        for source in rng.sample(files, min(per_class, len(files))):
            path = out / f"comnist_{letter_dir.name}_{source.stem}.png"
            with Image.open(source) as image:
                ink = np.asarray(image.convert("RGBA"))[:, :, 3]
            Image.fromarray(255 - ink).save(path)  # ink is in the alpha channel: dark ink on white
            items.append(Item(path, "char", letter_dir.name, {"source": "comnist", "style": "handwritten"}))
    for index, (image, text, source) in enumerate(handwritten_words(shared, words, seed)):
        path = out / f"{source}_word_{index:03d}.png"
        Image.fromarray(image).save(path)
        items.append(Item(path, "word", text, {"source": f"{source}-words", "style": "handwritten"}))
    write_manifest(out / "manifest.tsv", items)
    return items


def handwritten_words(shared: Path, count: int, seed: int) -> list[tuple[np.ndarray, str, str]]:
    """Words and numbers composed from real handwritten glyphs: (dark-on-light image, text, source).

    Half are digit strings of MNIST test digits (8000-8999), half capitalised words of ``WORDS``
    written with CoMNIST letters from the held-out split; glyphs are scaled to a common height with
    some jitter and set side by side with uneven gaps. Real strokes, composed lines.
    """
    from training.real import MNIST_SPLITS, comnist_split_of

    rng = random.Random(seed)
    images, labels = _mnist(shared / "mnist-t10k-part")
    start, end = MNIST_SPLITS["test"]
    digits: dict[str, list[np.ndarray]] = {}
    for index in range(start, end):
        digits.setdefault(str(labels[index]), []).append(images[index])
    letters: dict[str, list[Path]] = {}
    for letter_dir in sorted((shared / "comnist-upper").iterdir()):
        letters[letter_dir.name] = sorted(f for f in letter_dir.glob("*.png") if comnist_split_of(f.name) == "test")
    words = [w.upper() for w in WORDS if all(letters.get(c.upper()) for c in w)]
    made: list[tuple[np.ndarray, str, str]] = []
    for k in range(count):
        if k % 2 == 0:
            text = "".join(rng.choice(string.digits) for _ in range(rng.randint(3, 8)))
            glyphs = [rng.choice(digits[c]) for c in text]
            source = "mnist"
        else:
            text = rng.choice(words)
            glyphs = [_alpha_ink(rng.choice(letters[c])) for c in text]
            source = "comnist"
        made.append((_set_side_by_side(glyphs, rng), text, source))
    return made


def _alpha_ink(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))[:, :, 3]


def _set_side_by_side(glyphs: list[np.ndarray], rng: random.Random, height: int = 44) -> np.ndarray:
    """White-on-black glyphs cut to their ink, scaled to about ``height``, as one dark-on-light line."""
    pieces = []
    for glyph in glyphs:
        rows, cols = np.flatnonzero(glyph.max(axis=1) > 40), np.flatnonzero(glyph.max(axis=0) > 40)
        ink = glyph[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] if rows.size else glyph
        scale = height * rng.uniform(0.85, 1.1) / ink.shape[0]
        size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
        pieces.append(np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.LANCZOS)))
    gaps = [rng.randint(3, 12) for _ in pieces]
    line = np.zeros((round(height * 1.2) + 24, sum(p.shape[1] for p in pieces) + sum(gaps) + 24), dtype=np.uint8)
    x = 12
    for piece, gap in zip(pieces, gaps, strict=True):
        top = (line.shape[0] - piece.shape[0]) // 2 + rng.randint(-2, 2)
        region = line[top : top + piece.shape[0], x : x + piece.shape[1]]
        np.maximum(region, piece, out=region)
        x += piece.shape[1] + gap
    return 255 - line


def _mnist(folder: Path) -> tuple[np.ndarray, list[int]]:
    with gzip.open(folder / "images-idx3-ubyte.gz") as handle:
        data = handle.read()
    count, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
    images = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    with gzip.open(folder / "labels-idx1-ubyte.gz") as handle:
        labels = list(handle.read()[8:])
    return images, labels


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    rendered = sub.add_parser("rendered")
    rendered.add_argument("out", type=Path)
    rendered.add_argument("--seed", type=int, default=0)
    for name, default in (("chars", 60), ("words", 30), ("lines", 15), ("pages", 3)):
        rendered.add_argument(f"--{name}", type=int, default=default)
    hand = sub.add_parser("handwriting")
    hand.add_argument("out", type=Path)
    hand.add_argument("--shared", type=Path, default=None, help="default: OCR_SHARED_DATA or ../shared/data")
    hand.add_argument("--per-class", type=int, default=10)
    hand.add_argument("--seed", type=int, default=0)
    hand.add_argument("--words", type=int, default=0, help="also compose this many handwritten words")
    args = parser.parse_args()
    if args.kind == "rendered":
        items = rendered_set(args.out, args.seed, args.chars, args.words, args.lines, args.pages)
    else:
        from training.real import DEFAULT_DATA_DIR

        items = handwriting_set(args.out, args.shared or DEFAULT_DATA_DIR, args.per_class, args.seed, args.words)
    print(f"{len(items)} items, manifest {args.out / 'manifest.tsv'}")


if __name__ == "__main__":
    main()
