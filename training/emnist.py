"""Reader (and writer) for IDX files, and the loader for the official EMNIST gzip files.

The EMNIST files store every image transposed (``images.transpose(0, 2, 1)`` makes them upright);
the MNIST files are upright. Labels are mapped to characters with the split's ``*-mapping.txt`` when
it is next to the images, or with the built-in mapping of that split.
"""

from __future__ import annotations

import gzip
import string
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from training.classes import INDEX

IDX_TYPES: dict[int, type[np.generic]] = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.int16,
    0x0C: np.int32,
    0x0D: np.float32,
    0x0E: np.float64,
}
SPLITS = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")

# EMNIST's own label -> character tables (the first character of each mapping line).
_MERGED_LOWER = "abdefghnqrt"
BUILTIN_MAPPINGS: dict[str, str] = {
    "byclass": string.digits + string.ascii_uppercase + string.ascii_lowercase,
    "bymerge": string.digits + string.ascii_uppercase + _MERGED_LOWER,
    "balanced": string.digits + string.ascii_uppercase + _MERGED_LOWER,
    # Label 0 is unused in EMNIST Letters; 1..26 are the case-merged letters (named by the uppercase).
    "letters": "?" + string.ascii_uppercase,
    "digits": string.digits,
    "mnist": string.digits,
}


@dataclass(frozen=True)
class CharSet:
    """Upright 28x28 white-on-black glyphs and their class indices (into ``training.classes.CLASSES``)."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.labels)


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def read_idx(path: Path) -> npt.NDArray[np.generic]:
    """Read an IDX file (gzip-compressed when its name ends in ``.gz``) into an array."""
    with _open(path) as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file")
    dtype = np.dtype(IDX_TYPES[data[2]]).newbyteorder(">")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset != expected:
        raise ValueError(f"{path}: header says {shape} ({expected} bytes), file has {len(data) - offset}")
    return np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: Path, array: npt.NDArray[np.generic]) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``)."""
    codes = {np.dtype(kind): code for code, kind in IDX_TYPES.items()}
    dtype = np.dtype(array.dtype)
    if dtype not in codes:
        raise ValueError(f"IDX cannot hold {dtype}")
    header = bytes([0, 0, codes[dtype], array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + np.ascontiguousarray(array, dtype=dtype.newbyteorder(">")).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)


def read_mapping(path: Path) -> dict[int, str]:
    """An EMNIST ``*-mapping.txt``: ``label code [code ...]`` per line -> label: first character."""
    mapping: dict[int, str] = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields:
            mapping[int(fields[0])] = chr(int(fields[1]))
    return mapping


def label_mapping(directory: Path, split: str) -> dict[int, str]:
    """The split's mapping file when present, else its built-in mapping."""
    if split not in SPLITS:
        raise ValueError(f"unknown EMNIST split {split!r} (known: {', '.join(SPLITS)})")
    path = directory / f"emnist-{split}-mapping.txt"
    if path.is_file():
        return read_mapping(path)
    return dict(enumerate(BUILTIN_MAPPINGS[split]))


def _find(directory: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"{directory / stem}(.gz) not found; see docs/cnn.md for the EMNIST file names")


def load_idx_pair(images_path: Path, labels_path: Path, mapping: dict[int, str], transposed: bool) -> CharSet:
    """Images and labels from two IDX files; labels mapped through ``mapping`` to our 62 classes."""
    images = read_idx(images_path)
    labels = read_idx(labels_path).astype(np.int64)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{images_path}: expected uint8 (N, 28, 28) images, got {images.dtype} {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    unknown = sorted({int(v) for v in np.unique(labels)} - set(mapping))
    if unknown:
        raise ValueError(f"labels {unknown[:10]} are not in the mapping")
    table = np.full(max(mapping) + 1, -1, dtype=np.int64)
    for label, char in mapping.items():
        table[label] = INDEX.get(char, -1)
    classes = table[labels]
    if (classes < 0).any():
        raise ValueError("some labels map to characters outside the 62 classes")
    upright = images.transpose(0, 2, 1) if transposed else images
    return CharSet(np.ascontiguousarray(upright), classes)


def load_emnist(directory: Path, split: str = "byclass", subset: str = "train", transposed: bool = True) -> CharSet:
    """One subset (``train`` or ``test``) of an EMNIST split from the official gzip IDX files."""
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', not {subset!r}")
    mapping = label_mapping(directory, split)
    images = _find(directory, f"emnist-{split}-{subset}-images-idx3-ubyte")
    labels = _find(directory, f"emnist-{split}-{subset}-labels-idx1-ubyte")
    return load_idx_pair(images, labels, mapping, transposed)
