"""Training-history and confusion-matrix plots (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt

from training.classes import CLASSES


def plot_history(history: list[dict[str, Any]], path: Path) -> None:
    """Loss and accuracy per epoch (train and validation), and the learning rate."""
    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, acc_axis, lr_axis) = plt.subplots(1, 3, figsize=(13, 3.6))
    loss_axis.plot(epochs, [r["train_loss"] for r in history], label="train")
    loss_axis.plot(epochs, [r["val_loss"] for r in history], label="validation")
    loss_axis.set(title="loss", xlabel="epoch")
    acc_axis.plot(epochs, [r["train_acc"] for r in history], label="train")
    acc_axis.plot(epochs, [r["val_acc"] for r in history], label="validation")
    acc_axis.set(title="accuracy", xlabel="epoch")
    lr_axis.plot(epochs, [r["lr"] for r in history])
    lr_axis.set(title="learning rate", xlabel="epoch", yscale="log")
    for axis in (loss_axis, acc_axis):
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def plot_confusion(matrix: npt.NDArray[np.int64], path: Path, title: str) -> None:
    """The 62x62 confusion matrix, rows normalised, log colour scale so that rare mistakes show."""
    rows = matrix.sum(axis=1, keepdims=True)
    share = matrix / np.maximum(rows, 1)
    figure, axis = plt.subplots(figsize=(11, 10))
    image = axis.imshow(np.log10(share + 1e-3), cmap="viridis", vmin=-3, vmax=0)
    ticks = np.arange(len(CLASSES))
    axis.set_xticks(ticks, list(CLASSES), fontsize=7)
    axis.set_yticks(ticks, list(CLASSES), fontsize=7)
    axis.set(xlabel="predicted", ylabel="true", title=title)
    figure.colorbar(image, ax=axis, fraction=0.046, label="log10 share of the true class")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
