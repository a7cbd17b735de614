"""The EMNIST IDX loader on IDX files written by the test from real MNIST digits (transposed and not)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from training.classes import CLASSES, fold_case, group_of
from training.emnist import BUILTIN_MAPPINGS, label_mapping, load_emnist, load_idx_pair, read_idx, write_idx
from training.real import DEFAULT_DATA_DIR, MNIST_DIR

MNIST = DEFAULT_DATA_DIR / MNIST_DIR
needs_data = pytest.mark.skipif(not MNIST.is_dir(), reason=f"{MNIST} not present (shared data, not in the repo)")


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The first 50 real MNIST digits, upright, and their labels."""
    if not MNIST.is_dir():
        pytest.skip(f"{MNIST} not present")
    images = read_idx(MNIST / "images-idx3-ubyte.gz")[:50]
    labels = read_idx(MNIST / "labels-idx1-ubyte.gz")[:50]
    return np.asarray(images, np.uint8), np.asarray(labels, np.uint8)


def write_emnist(folder: Path, split: str, subset: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Files named like the official ones, images stored transposed as EMNIST does."""
    write_idx(folder / f"emnist-{split}-{subset}-images-idx3-ubyte.gz", images.transpose(0, 2, 1).copy())
    write_idx(folder / f"emnist-{split}-{subset}-labels-idx1-ubyte.gz", labels)


@needs_data
def test_loader_undoes_the_emnist_transposition(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    write_emnist(tmp_path, "digits", "train", images, labels)
    loaded = load_emnist(tmp_path, "digits", "train")
    assert np.array_equal(loaded.images, images)
    assert [CLASSES[i] for i in loaded.labels] == [str(d) for d in labels]


@needs_data
def test_upright_files_load_unchanged_when_not_transposed(
    tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = digits
    write_idx(tmp_path / "images.gz", images)
    write_idx(tmp_path / "labels.gz", labels)
    upright = load_idx_pair(tmp_path / "images.gz", tmp_path / "labels.gz", dict(enumerate("0123456789")), False)
    transposed = load_idx_pair(tmp_path / "images.gz", tmp_path / "labels.gz", dict(enumerate("0123456789")), True)
    assert np.array_equal(upright.images, images)
    assert np.array_equal(transposed.images, images.transpose(0, 2, 1))


@needs_data
def test_byclass_labels_map_to_the_62_classes(tmp_path: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = digits
    labels = np.array([0, 9, 10, 35, 36, 61] * 8 + [12, 40], dtype=np.uint8)
    write_emnist(tmp_path, "byclass", "test", images, labels)
    loaded = load_emnist(tmp_path, "byclass", "test")
    assert "".join(CLASSES[i] for i in loaded.labels[:6]) == "09AZaz"
    assert "".join(CLASSES[i] for i in loaded.labels[-2:]) == "Ce"


def test_a_mapping_file_beside_the_images_wins(tmp_path: Path) -> None:
    (tmp_path / "emnist-balanced-mapping.txt").write_text("0 48\n10 65\n36 97\n46 116\n")
    assert label_mapping(tmp_path, "balanced") == {0: "0", 10: "A", 36: "a", 46: "t"}
    (tmp_path / "emnist-letters-mapping.txt").write_text("1 65 97\n26 90 122\n")
    assert label_mapping(tmp_path, "letters") == {1: "A", 26: "Z"}


def test_builtin_mappings_follow_emnist() -> None:
    assert BUILTIN_MAPPINGS["byclass"] == CLASSES
    assert BUILTIN_MAPPINGS["balanced"][36:] == "abdefghnqrt"
    assert BUILTIN_MAPPINGS["letters"][1] == "A"
    with pytest.raises(ValueError, match="unknown EMNIST split"):
        label_mapping(Path("/nonexistent"), "bogus")


def test_idx_round_trip_plain_and_gzip(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, array)
        back = read_idx(tmp_path / name)
        assert back.dtype == np.int32 and np.array_equal(back, array)
    with gzip.open(tmp_path / "a.idx.gz") as handle:
        assert handle.read(4) == bytes([0, 0, 0x0C, 3])


def test_bad_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "junk").write_bytes(b"PNG not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "junk")
    write_idx(tmp_path / "short", np.zeros((4, 28, 28), np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-5])
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "short")


def test_labels_outside_the_mapping_are_refused(tmp_path: Path) -> None:
    write_idx(tmp_path / "i", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "l", np.array([1, 12], np.uint8))
    with pytest.raises(ValueError, match="not in the mapping"):
        load_idx_pair(tmp_path / "i", tmp_path / "l", dict(enumerate("0123456789")), True)


def test_missing_files_name_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="emnist-byclass-train-images-idx3-ubyte"):
        load_emnist(tmp_path)


def test_groups_and_case_folding() -> None:
    assert [group_of(c) for c in "7Qq"] == ["digits", "upper", "lower"]
    assert fold_case("O") == fold_case("o") != fold_case("0")
