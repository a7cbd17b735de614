"""The named training, validation and test sets of one run, built deterministically from a seed.

Without EMNIST files: synthetic glyphs from the training fonts plus the real MNIST and CoMNIST
training splits (each real glyph once as it is and ``*_copies`` times augmented). Tests are sets
never trained on: the MNIST and CoMNIST test splits and glyphs rendered from the held-out fonts.
With EMNIST files (``emnist_dir``), the EMNIST training subset joins the training data and its test
subset becomes one more test set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from engines.glyph import normalize_ink
from training.augment import AugmentConfig, degrade, distort
from training.emnist import CharSet, load_emnist
from training.fonts import installed_fonts
from training.real import DEFAULT_DATA_DIR, comnist_files, load_comnist, load_mnist, read_comnist
from training.synth import render_clean, synthesize

# The last part of the EMNIST training subset that is kept for validation.
EMNIST_VAL_FRACTION = 0.05
# CoMNIST letters are drawn at 278 px; augmenting them at this size is as good and much cheaper.
REAL_WORK_SIZE = 96


@dataclass(frozen=True)
class DataConfig:
    """What goes into a run's data; the defaults built the shipped weights."""

    data_dir: Path = DEFAULT_DATA_DIR
    seed: int = 1234
    synthetic_per_class: int = 1000
    val_synthetic_per_class: int = 40
    test_synthetic_per_class: int = 80
    mnist_copies: int = 1
    comnist_copies: int = 15
    emnist_dir: Path | None = None
    emnist_split: str = "byclass"
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def concat(sets: list[CharSet]) -> CharSet:
    """One set holding every glyph of ``sets``."""
    return CharSet(np.concatenate([s.images for s in sets]), np.concatenate([s.labels for s in sets]))


def augment_copies(images: list[npt.NDArray[np.float32]], labels: list[int], copies: int, seed: int) -> CharSet:
    """``copies`` augmented glyphs of each white-on-black float image, normalised to 28x28."""
    config = AugmentConfig()
    out_images, out_labels = [], []
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        for copy in range(copies):
            rng = np.random.default_rng([seed, index, copy])
            glyph = normalize_ink(distort(image, rng, config))
            if glyph is not None:
                out_images.append(degrade(glyph, rng, config))
                out_labels.append(label)
    if not out_images:
        return CharSet(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    return CharSet(np.stack(out_images), np.array(out_labels, dtype=np.int64))


def _shrink(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    scale = REAL_WORK_SIZE / max(image.shape)
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.float32) / 255.0


def real_training_sets(config: DataConfig) -> dict[str, CharSet]:
    """The real training glyphs: MNIST and CoMNIST train splits, as they are plus augmented copies."""
    mnist = load_mnist(config.data_dir, "train")
    comnist = load_comnist(config.data_dir, "train")
    files = comnist_files(config.data_dir, "train")
    comnist_full = [_shrink(read_comnist(path)) for path, _ in files]
    mnist_floats = [image.astype(np.float32) / 255.0 for image in mnist.images]
    sets = {
        "mnist-train": mnist,
        "mnist-train-augmented": augment_copies(mnist_floats, mnist.labels.tolist(), config.mnist_copies, config.seed),
        "comnist-train": comnist,
        "comnist-train-augmented": augment_copies(
            comnist_full, comnist.labels.tolist(), config.comnist_copies, config.seed + 1
        ),
    }
    return {name: part for name, part in sets.items() if len(part)}


def training_parts(config: DataConfig) -> dict[str, CharSet]:
    """Every part of the training data, by name (the metadata records their sizes)."""
    parts = {"synthetic": synthesize(installed_fonts(held_out=False), config.synthetic_per_class, config.seed)}
    parts.update(real_training_sets(config))
    if config.emnist_dir is not None:
        parts[f"emnist-{config.emnist_split}-train"] = _emnist_train_val(config.emnist_dir, config.emnist_split)[0]
    return parts


@lru_cache(maxsize=2)
def _emnist_train_val(directory: Path, split: str) -> tuple[CharSet, CharSet]:
    full = load_emnist(directory, split, "train")
    cut = len(full) - int(len(full) * EMNIST_VAL_FRACTION)
    return CharSet(full.images[:cut], full.labels[:cut]), CharSet(full.images[cut:], full.labels[cut:])


def validation_sets(config: DataConfig) -> dict[str, CharSet]:
    """Early stopping and learning-rate decisions are taken on these (never on test sets)."""
    fonts = installed_fonts(held_out=False)
    sets = {
        "synthetic-val": synthesize(fonts, config.val_synthetic_per_class, config.seed + 100),
        "mnist-val": load_mnist(config.data_dir, "val"),
        "comnist-val": load_comnist(config.data_dir, "val"),
    }
    if config.emnist_dir is not None:
        sets[f"emnist-{config.emnist_split}-val"] = _emnist_train_val(config.emnist_dir, config.emnist_split)[1]
    return sets


def test_sets(config: DataConfig) -> dict[str, CharSet]:
    """The named test sets: nothing in them was trained on or used for model selection."""
    held_out = installed_fonts(held_out=True)
    sets = {
        "mnist-test": load_mnist(config.data_dir, "test"),
        "comnist-test": load_comnist(config.data_dir, "test"),
        "synthetic-heldout-fonts": synthesize(held_out, config.test_synthetic_per_class, config.seed + 200),
        "rendered-heldout-fonts": render_clean(held_out),
    }
    if config.emnist_dir is not None:
        sets[f"emnist-{config.emnist_split}-test"] = load_emnist(config.emnist_dir, config.emnist_split, "test")
    return sets
