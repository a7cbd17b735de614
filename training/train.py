"""The training run: data, loop (best checkpoint, early stopping, LR on plateau, CSV log), export, report."""

from __future__ import annotations

import csv
import json
import logging
import os
import platform
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from engines.files import file_digest
from training.card import write_model_card
from training.classes import CLASSES
from training.datasets import DataConfig, concat, test_sets, training_parts, validation_sets
from training.emnist import CharSet
from training.evaluate import confusion_matrix, evaluate, top_confusions
from training.export import export_onnx, onnx_predictor, torch_predictor
from training.fonts import installed_fonts
from training.model import CharCNN, count_parameters
from training.plots import plot_confusion, plot_history

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"
MODEL = "model.onnx"
METADATA = "metadata.json"
# A validation loss must beat the best by this relative margin to count (as in ReduceLROnPlateau).
MIN_IMPROVEMENT = 1e-4


@dataclass(frozen=True)
class TrainConfig:
    """One training run; the defaults trained the shipped weights."""

    out_dir: Path
    version: str = "v1"
    epochs: int = 15
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    early_stop_patience: int = 3
    plateau_patience: int = 1
    plateau_factor: float = 0.3
    width: int = 32
    # Draw each epoch's glyphs with equal weight per class, so no class (digits: MNIST) owns the prior.
    balance_classes: bool = True
    threads: int = 1
    progress: bool = True
    data: DataConfig = field(default_factory=DataConfig)


def seed_everything(seed: int, threads: int) -> torch.Generator:
    """Seed every generator, pin the thread count, make torch deterministic; the shuffling generator."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    cv2.setNumThreads(threads)
    return torch.Generator().manual_seed(seed)


def _batch(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(images).float().div_(255.0).unsqueeze(1).contiguous(memory_format=torch.channels_last)
    return x, torch.from_numpy(labels)


def epoch_order(labels: np.ndarray, balance: bool, shuffle: torch.Generator) -> np.ndarray:
    """The indices of one epoch: a permutation, or as many draws weighted to equalise the classes."""
    if not balance:
        return torch.randperm(len(labels), generator=shuffle).numpy()
    counts = np.bincount(labels, minlength=len(CLASSES)).astype(np.float64)
    weights = torch.from_numpy(1.0 / counts[labels])
    return torch.multinomial(weights, len(labels), replacement=True, generator=shuffle).numpy()


def train_epoch(
    model: nn.Module, optimizer: torch.optim.Optimizer, data: CharSet, config: TrainConfig, shuffle: torch.Generator
) -> tuple[float, float]:
    """One pass over ``data`` in shuffled mini-batches; mean loss and accuracy."""
    model.train()
    order = epoch_order(data.labels, config.balance_classes, shuffle)
    total_loss, correct = 0.0, 0
    steps = range(0, len(order), config.batch_size)
    for start in tqdm(steps, desc="train", leave=False, disable=not config.progress):
        index = order[start : start + config.batch_size]
        x, y = _batch(data.images[index], data.labels[index])
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(index)
        correct += int((logits.argmax(1) == y).sum())
    return total_loss / len(order), correct / len(order)


@torch.inference_mode()
def validate(model: nn.Module, data: CharSet, batch_size: int = 1024) -> tuple[float, float]:
    """Mean loss and accuracy on ``data`` without gradients."""
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(data), batch_size):
        x, y = _batch(data.images[start : start + batch_size], data.labels[start : start + batch_size])
        logits = model(x)
        total_loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    return total_loss / len(data), correct / len(data)


def fit(
    model: nn.Module, train: CharSet, val: CharSet, config: TrainConfig, shuffle: torch.Generator
) -> dict[str, Any]:
    """The loop: keeps the best checkpoint by validation loss, reduces the LR on plateau, stops early."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=config.plateau_factor, patience=config.plateau_patience
    )
    history: list[dict[str, Any]] = []
    best_loss, best_epoch, stale = float("inf"), 0, 0
    log_path = config.out_dir / "history.csv"
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_acc = train_epoch(model, optimizer, train, config, shuffle)
        val_loss, val_acc = validate(model, val)
        scheduler.step(val_loss)
        row = {
            "epoch": epoch,
            "train_loss": round(train_loss, 5),
            "train_acc": round(train_acc, 5),
            "val_loss": round(val_loss, 5),
            "val_acc": round(val_acc, 5),
            "lr": lr,
            "seconds": round(time.perf_counter() - started, 1),
        }
        history.append(row)
        append_csv(log_path, row)
        log.info("epoch %s: %s", epoch, row)
        if val_loss < best_loss * (1.0 - MIN_IMPROVEMENT):
            best_loss, best_epoch, stale = val_loss, epoch, 0
            _save_checkpoint(model, config, epoch, val_loss)
        else:
            stale += 1
            if stale >= config.early_stop_patience:
                log.info("early stop: no validation improvement for %s epochs", stale)
                break
    return {"history": history, "best_epoch": best_epoch, "best_val_loss": round(best_loss, 5)}


def append_csv(path: Path, row: dict[str, Any]) -> None:
    """Append ``row`` to a CSV log, writing the header first when the file is new."""
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def _save_checkpoint(model: nn.Module, config: TrainConfig, epoch: int, val_loss: float) -> None:
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    payload = {"state_dict": state, "classes": CLASSES, "width": config.width, "epoch": epoch, "val_loss": val_loss}
    torch.save(payload, config.out_dir / CHECKPOINT)


def load_checkpoint(path: Path) -> CharCNN:
    """The CNN stored in a checkpoint written by a training run."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = CharCNN(num_classes=len(payload["classes"]), width=int(payload["width"]))
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def run(config: TrainConfig, command: str) -> dict[str, Any]:
    """Train, keep the best checkpoint, export ONNX, measure the test sets, write plots, metadata and card."""
    started = time.perf_counter()
    config.out_dir.mkdir(parents=True, exist_ok=True)
    (config.out_dir / "history.csv").unlink(missing_ok=True)
    shuffle = seed_everything(config.data.seed, config.threads)
    parts = training_parts(config.data)
    train = concat(list(parts.values()))
    val_parts = validation_sets(config.data)
    log.info("training on %s glyphs (%s)", len(train), {k: len(v) for k, v in parts.items()})
    data_seconds = time.perf_counter() - started

    model = CharCNN(num_classes=len(CLASSES), width=config.width).to(memory_format=torch.channels_last)
    outcome = fit(model, train, concat(list(val_parts.values())), config, shuffle)
    best = load_checkpoint(config.out_dir / CHECKPOINT)
    export_onnx(best, config.out_dir / MODEL)
    report = measure(best, config, test_sets(config.data), val_parts)
    plot_history(outcome["history"], config.out_dir / "history.png")
    metadata = build_metadata(config, command, parts, outcome, report, best)
    metadata["training"]["data_seconds"] = round(data_seconds, 1)
    metadata["training"]["total_seconds"] = round(time.perf_counter() - started, 1)
    write_outputs(config.out_dir, metadata)
    return metadata


def measure(model: CharCNN, config: TrainConfig, tests: dict[str, CharSet], vals: dict[str, CharSet]) -> dict[str, Any]:
    """Test-set metrics of the exported ONNX model (what ships), with a torch/ONNX parity check."""
    served = onnx_predictor(config.out_dir / MODEL, threads=config.threads)
    reference = torch_predictor(model)
    probe = next(iter(tests.values())).images[:256]
    parity = float(np.abs(served(probe) - reference(probe)).max())
    if parity > 1e-4:
        raise RuntimeError(f"ONNX and torch disagree (max abs difference {parity})")
    results, matrices = {}, []
    for name, dataset in {**tests, **vals}.items():
        results[name], probabilities = evaluate(served, dataset)
        if name in tests:
            matrices.append(confusion_matrix(probabilities, dataset.labels))
    matrix = np.sum(matrices, axis=0)
    plot_confusion(matrix, config.out_dir / "confusion.png", "all test sets (ONNX model)")
    return {"metrics": results, "onnx_torch_max_abs_diff": parity, "top_confusions": top_confusions(matrix)}


def build_metadata(
    config: TrainConfig,
    command: str,
    parts: dict[str, CharSet],
    outcome: dict[str, Any],
    report: dict[str, Any],
    model: CharCNN,
) -> dict[str, Any]:
    """Everything the engine and the model card need to know about this model."""
    data = asdict(config.data)
    data["data_dir"] = str(config.data.data_dir)
    data["emnist_dir"] = str(config.data.emnist_dir) if config.data.emnist_dir else None
    return {
        "name": "emnist_cnn",
        "version": config.version,
        "classes": CLASSES,
        "input": {"name": "glyphs", "shape": ["batch", 1, 28, 28], "dtype": "float32", "scale": "pixel / 255"},
        "output": {"name": "probabilities", "shape": ["batch", len(CLASSES)]},
        "preprocessing": "engines.glyph.normalize_glyph (white ink on black, 20x20 box, centre of mass on 28x28)",
        "parameters": count_parameters(model),
        "training": {
            "command": command,
            "config": {k: v for k, v in asdict(config).items() if k not in ("data", "out_dir", "progress")},
            "data": data,
            "parts": {name: len(part) for name, part in parts.items()},
            "fonts": sorted({f.family for f in installed_fonts(held_out=False)}),
            "held_out_fonts": sorted({f.family for f in installed_fonts(held_out=True)}),
            "torch": torch.__version__,
            "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores, trained on CPU",
            "best_epoch": outcome["best_epoch"],
            "best_val_loss": outcome["best_val_loss"],
            "epochs_run": len(outcome["history"]),
            "history": outcome["history"],
        },
        **report,
    }


def write_outputs(out_dir: Path, metadata: dict[str, Any]) -> None:
    """metadata.json (with the sha256 of every model file) and MODEL_CARD.md (with that of each file)."""
    files = [MODEL, CHECKPOINT, "history.csv", "history.png", "confusion.png"]
    metadata["files"] = {
        name: {"sha256": file_digest(out_dir / name), "bytes": (out_dir / name).stat().st_size} for name in files
    }
    (out_dir / METADATA).write_text(json.dumps(metadata, indent=2) + "\n")
    write_model_card(out_dir, metadata)


def main(options: dict[str, Any], command: str) -> dict[str, Any]:
    """Run from the ``ocr train-cnn`` options; logs to stderr, prints the test metrics at the end."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    data_dir = options["data_dir"] or DataConfig().data_dir
    data = DataConfig(
        data_dir=data_dir,
        seed=options["seed"],
        synthetic_per_class=options["synthetic_per_class"],
        emnist_dir=options["emnist_dir"],
        emnist_split=options["emnist_split"],
    )
    config = TrainConfig(
        out_dir=options["out_dir"],
        version=options["out_dir"].name,
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        lr=options["lr"],
        threads=options["threads"],
        progress=not options["no_progress"],
        data=data,
    )
    metadata = run(config, command)
    for name, result in metadata["metrics"].items():
        log.info(
            "%s: accuracy %s, case-insensitive %s (n=%s)",
            name,
            result["accuracy"],
            result["case_insensitive"],
            result["n"],
        )
    return metadata
