"""The real handwriting available here (``../shared/data``), read in place, with fixed splits.

- MNIST test-split digits (first 9,000), upright IDX: images ``[0, 7000)`` train, ``[7000, 8000)``
  validation, ``[8000, 9000)`` test (never trained on).
- CoMNIST uppercase letters, 278x278 RGBA PNGs with the ink in the alpha channel: each file goes to
  test (30 %), validation (10 %) or train (60 %) by a hash of its name, so the split is stable.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from engines.glyph import normalize_glyph
from training.classes import INDEX
from training.emnist import CharSet, label_mapping, load_idx_pair


def _shared_data_dir() -> Path:
    """``OCR_SHARED_DATA``, else ``../shared/data`` beside the repository, else the team's /work/shared/data."""
    if os.environ.get("OCR_SHARED_DATA"):
        return Path(os.environ["OCR_SHARED_DATA"])
    beside = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    team = Path("/work/shared/data")
    return beside if beside.is_dir() or not team.is_dir() else team


DEFAULT_DATA_DIR = _shared_data_dir()
MNIST_DIR = "mnist-t10k-part"
COMNIST_DIR = "comnist-upper"
MNIST_SPLITS = {"train": (0, 7000), "val": (7000, 8000), "test": (8000, 9000)}
COMNIST_BUCKETS = {"test": range(0, 3), "val": range(3, 4), "train": range(4, 10)}


def load_mnist(data_dir: Path = DEFAULT_DATA_DIR, split: str = "train") -> CharSet:
    """One split of the MNIST digits in ``data_dir/mnist-t10k-part`` (upright, already normalised)."""
    start, stop = MNIST_SPLITS[split]
    folder = data_dir / MNIST_DIR
    digits = load_idx_pair(
        folder / "images-idx3-ubyte.gz",
        folder / "labels-idx1-ubyte.gz",
        label_mapping(folder, "mnist"),
        transposed=False,
    )
    return CharSet(digits.images[start:stop], digits.labels[start:stop])


def comnist_split_of(name: str) -> str:
    """``train``, ``val`` or ``test`` for a CoMNIST file name (stable: a hash of the name)."""
    bucket = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10
    return next(split for split, buckets in COMNIST_BUCKETS.items() if bucket in buckets)


def comnist_files(data_dir: Path = DEFAULT_DATA_DIR, split: str = "train") -> list[tuple[Path, str]]:
    """(PNG path, letter) pairs of one CoMNIST split, sorted."""
    folder = data_dir / COMNIST_DIR
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found")
    found = []
    for path in sorted(folder.glob("*/*.png")):
        letter = path.parent.name
        if letter in INDEX and comnist_split_of(path.name) == split:
            found.append((path, letter))
    return found


def read_comnist(path: Path) -> npt.NDArray[np.uint8]:
    """A CoMNIST PNG as white ink on black (its alpha channel) at full size."""
    with Image.open(path) as image:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
    return np.ascontiguousarray(rgba[:, :, 3])


def load_comnist(data_dir: Path = DEFAULT_DATA_DIR, split: str = "train") -> CharSet:
    """One CoMNIST split, normalised to 28x28 with the serving pipeline."""
    images, labels = [], []
    for path, letter in comnist_files(data_dir, split):
        glyph = normalize_glyph(read_comnist(path))
        if glyph is not None:
            images.append(glyph)
            labels.append(INDEX[letter])
    return CharSet(np.stack(images), np.array(labels, dtype=np.int64))
