"""Fine-tune the line recognizer with CTC: real lines (split by document) plus rendered ones.

    python -m training.lines.train --out models/line_reader/v1 --work .run/line-train \
        [--steps 1500] [--budget-min 85] [--resume] [--device auto|cpu|cuda]

Deterministic for a seed: batch ``k`` is drawn and augmented from a generator seeded by ``(seed, k)``,
so a run resumed from its checkpoint goes on exactly as it would have. The learning rate follows the
planned steps (warm-up, then cosine); the time budget only stops a run early, and the best checkpoint
by validation CER (documents never trained on) is what is exported.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from engines.line_input import input_width, pad_batch, prepare_line
from training.lines.augment import augment_line
from training.lines.charset import LINE_CHARSET
from training.lines.data import LineSample, licensed_fit_lines, real_train_lines, split_by_document
from training.lines.model import LineRecognizer, build_from_pretrained
from training.lines.release import write_release
from training.lines.score import cer_by_group, greedy_texts
from training.lines.synth import line_fonts, render_line
from training.real import DEFAULT_DATA_DIR
from training.train import append_csv

log = logging.getLogger("training.lines")
WIDTH_MULTIPLE = 128  # batches come in few shapes (see engines.line_input.pad_batch)
DEFAULT_SHARED = DEFAULT_DATA_DIR  # OCR_SHARED_DATA, else ../shared/data


@dataclass(frozen=True)
class TrainConfig:
    """One training run; the defaults trained the shipped weights."""

    out_dir: Path
    work_dir: Path
    shared: Path = DEFAULT_SHARED
    version: str = "v1"
    seed: int = 20261206
    steps: int = 1500
    budget_min: float = 85.0
    pixels_per_batch: int = 16 * 800  # batch size adapts to width: constant work per step
    max_batch: int = 32
    lr: float = 4e-4
    head_lr_factor: float = 3.0
    warmup: int = 60
    weight_decay: float = 1e-4
    synth_share: float = 0.25
    fit_weight: float = 3.0  # the licensed real-fit lines are few and nearest to what users send
    val_share: float = 0.08
    val_max: int = 360
    eval_every: int = 250
    checkpoint_every: int = 50
    threads: int = 2
    device: str = "auto"
    resume: bool = False


@dataclass
class Corpus:
    """Training lines sorted by input width, their sampling weights, validation lines and synthetic sources."""

    train: list[LineSample]
    widths: np.ndarray
    weights: np.ndarray
    validation: list[LineSample]
    texts: list[str]


def load_corpus(config: TrainConfig) -> Corpus:
    """Real lines split by document; widths read from the image headers."""
    train, validation = split_by_document(real_train_lines(config.shared), config.val_share)
    fit = licensed_fit_lines(config.shared)
    lines = train + fit
    widths = np.array([_input_width(line.path) for line in lines])
    order = np.argsort(widths, kind="stable")
    lines = [lines[i] for i in order]
    weights = np.array([config.fit_weight if line.group.startswith("real-fit") else 1.0 for line in lines])
    val_rng = np.random.default_rng(config.seed)
    if len(validation) > config.val_max:
        validation = [validation[i] for i in sorted(val_rng.choice(len(validation), config.val_max, replace=False))]
    return Corpus(lines, widths[order], weights / weights.sum(), validation, [line.text for line in train])


def _input_width(path: Path) -> int:
    with Image.open(path) as image:
        width, height = image.size
    return input_width(height, width)


def _read_gray(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot read {path}")
    return np.asarray(image, dtype=np.uint8)


def draw_batch(
    corpus: Corpus, fonts: Sequence[Any], config: TrainConfig, step: int
) -> tuple[list[np.ndarray], list[str]]:
    """Batch ``step``: real lines of similar width (augmented), or rendered lines; fixed by (seed, step)."""
    rng = np.random.default_rng([config.seed, step])
    if fonts and rng.random() < config.synth_share:
        rendered = [render_line(fonts, corpus.texts, rng) for _ in range(12)]
        width = max(input_width(*image.shape[:2]) for image, _ in rendered)
        count = max(4, min(len(rendered), config.pixels_per_batch // _bucket(width)))
        return [augment_line(image, rng) for image, _ in rendered[:count]], [text for _, text in rendered[:count]]
    anchor = int(rng.choice(len(corpus.train), p=corpus.weights))
    # Lines of the anchor's width bucket only, so that a batch's shape is fixed by its bucket.
    bucket = _bucket(int(corpus.widths[anchor]))
    same = np.flatnonzero(np.array([_bucket(int(w)) for w in corpus.widths]) == bucket)
    count = max(2, min(config.max_batch, config.pixels_per_batch // bucket, len(same)))
    local = corpus.weights[same] / corpus.weights[same].sum()
    chosen = rng.choice(same, size=count, replace=False, p=local)
    lines = [corpus.train[int(i)] for i in chosen]
    return [augment_line(_read_gray(line.path), rng) for line in lines], [line.text for line in lines]


def _bucket(width: int) -> int:
    return -(-width // WIDTH_MULTIPLE) * WIDTH_MULTIPLE


def encode(texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """CTC targets: class indices (1-based: 0 is the blank) concatenated, and each text's length."""
    index = {char: i + 1 for i, char in enumerate(LINE_CHARSET)}
    targets = [index[char] for text in texts for char in text]
    return torch.tensor(targets, dtype=torch.long), torch.tensor([len(t) for t in texts], dtype=torch.long)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to a tenth over the planned steps."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = min(1.0, (step - config.warmup) / max(1, config.steps - config.warmup))
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_step(
    model: LineRecognizer, optimizer: torch.optim.Optimizer, images: list[np.ndarray], texts: list[str], device: str
) -> float:
    """One CTC step; the loss."""
    batch = torch.from_numpy(pad_batch([prepare_line(image) for image in images], WIDTH_MULTIPLE)).to(device)
    logits = model(batch)  # (N, T, C)
    log_probs = logits.float().log_softmax(-1).permute(1, 0, 2)
    targets, lengths = encode(texts)
    steps = torch.full((len(texts),), log_probs.shape[0], dtype=torch.long)
    loss = torch.nn.functional.ctc_loss(log_probs, targets, steps, lengths, blank=0, zero_infinity=True)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return float(loss.item())


def validate(model: LineRecognizer, lines: Sequence[LineSample], device: str) -> dict[str, Any]:
    """CER per group and overall on the validation documents (greedy decoding, no augmentation)."""
    predictions = greedy_texts(model, [_read_gray(line.path) for line in lines], device)
    return cer_by_group(predictions, [line.text for line in lines], [line.group for line in lines])


def _optimizer(model: LineRecognizer, config: TrainConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW(
        [
            {"params": list(model.body.parameters()), "lr_factor": 1.0},
            {"params": list(model.head.parameters()), "lr_factor": config.head_lr_factor},
        ],
        lr=config.lr,
        weight_decay=config.weight_decay,
    )


def _save(path: Path, payload: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    torch.save(payload, partial)
    partial.replace(path)


def _save_resumable(
    path: Path, model: LineRecognizer, optimizer: torch.optim.Optimizer, step: int, best: dict[str, Any], seconds: float
) -> None:
    """Everything ``--resume`` needs to go on from ``step``."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "best": best}
    _save(path, {**state, "seconds": seconds})


def resolve_device(name: str) -> str:
    """``auto``: CUDA when a GPU is there, else the CPU."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def run(config: TrainConfig) -> dict[str, Any]:
    """Train (or resume), keep the best checkpoint, export it; returns the run's record."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    cv2.setNumThreads(1)
    device = resolve_device(config.device)
    config.work_dir.mkdir(parents=True, exist_ok=True)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    corpus = load_corpus(config)
    fonts = line_fonts()
    log.info(
        "%d training lines, %d validation lines, %d fonts, device %s",
        len(corpus.train),
        len(corpus.validation),
        len(fonts),
        device,
    )
    model = build_from_pretrained(LINE_CHARSET).to(device)
    optimizer = _optimizer(model, config)
    checkpoint, best_path = config.work_dir / "checkpoint.pt", config.work_dir / "best.pt"
    step, best, spent = 0, {"cer": float("inf"), "step": -1}, 0.0
    if config.resume and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best, spent = state["step"], state["best"], state["seconds"]
        log.info("resumed at step %d (best CER %.4f at %d)", step, best["cer"], best["step"])
    else:
        baseline = validate(model.eval(), corpus.validation, device)
        best = {"cer": baseline["all"]["cer"], "step": 0, "scores": baseline}
        _save(best_path, {"model": model.state_dict(), "step": 0})
        log.info("before training: validation CER %.4f", baseline["all"]["cer"])
        append_csv(
            config.work_dir / "history.csv", {"step": 0, "loss": "", "val_cer": baseline["all"]["cer"], "seconds": 0}
        )
    started = time.monotonic() - spent
    losses: list[float] = []
    model.train()
    while step < config.steps and (time.monotonic() - started) < config.budget_min * 60:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config) * group["lr_factor"]
        images, texts = draw_batch(corpus, fonts, config, step)
        losses.append(train_step(model, optimizer, images, texts, device))
        step += 1
        if step % config.eval_every == 0 or step == config.steps:
            scores = validate(model.eval(), corpus.validation, device)
            model.train()
            if scores["all"]["cer"] < best["cer"]:
                best = {"cer": scores["all"]["cer"], "step": step, "scores": scores}
                _save(best_path, {"model": model.state_dict(), "step": step})
            append_csv(
                config.work_dir / "history.csv",
                {
                    "step": step,
                    "loss": round(float(np.mean(losses[-config.eval_every :])), 4),
                    "val_cer": scores["all"]["cer"],
                    "seconds": round(time.monotonic() - started),
                },
            )
            log.info(
                "step %d loss %.3f validation CER %.4f (best %.4f at %d)",
                step,
                np.mean(losses[-50:]),
                scores["all"]["cer"],
                best["cer"],
                best["step"],
            )
        if step % config.checkpoint_every == 0:
            _save_resumable(checkpoint, model, optimizer, step, best, time.monotonic() - started)
            log.info(
                "step %d loss %.3f (%.0f s)",
                step,
                np.mean(losses[-config.checkpoint_every :]),
                time.monotonic() - started,
            )
    _save_resumable(checkpoint, model, optimizer, step, best, time.monotonic() - started)
    model.load_state_dict(torch.load(best_path, map_location=device, weights_only=False)["model"])
    record = {
        "config": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in asdict(config).items()
            if k not in ("out_dir", "work_dir", "shared", "resume")
        },
        "steps_done": step,
        "seconds": round(time.monotonic() - started),
        "best_step": best["step"],
        "validation": best.get("scores"),
        "data": data_summary(corpus),
        "fonts": sorted({font.family for font in fonts}),
        "device": device if device == "cpu" else torch.cuda.get_device_name(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
    }
    write_release(model, config.out_dir, config.version)
    (config.out_dir / "training.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return record


def data_summary(corpus: Corpus) -> dict[str, Any]:
    """Lines and documents per group, for the card."""
    summary: dict[str, dict[str, Any]] = {}
    for part, lines in (("train", corpus.train), ("validation", corpus.validation)):
        for line in lines:
            entry = summary.setdefault(f"{part}:{line.group}", {"lines": 0, "documents": set()})
            entry["lines"] += 1
            entry["documents"].add(line.document)
    return {key: {"lines": v["lines"], "documents": len(v["documents"])} for key, v in sorted(summary.items())}


def parse(argv: Sequence[str]) -> TrainConfig:
    """Command-line options -> :class:`TrainConfig`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="checkpoints and history (not committed)")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--budget-min", type=float, default=TrainConfig.budget_min)
    parser.add_argument("--eval-every", type=int, default=TrainConfig.eval_every)
    parser.add_argument("--val-max", type=int, default=TrainConfig.val_max)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    return TrainConfig(
        out_dir=args.out, work_dir=args.work, shared=args.shared, steps=args.steps, budget_min=args.budget_min,
        eval_every=args.eval_every, val_max=args.val_max, seed=args.seed, threads=args.threads, device=args.device,
        resume=args.resume,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    record = run(parse(sys.argv[1:] if argv is None else argv))
    print(json.dumps({k: record[k] for k in ("steps_done", "seconds", "best_step")}))


if __name__ == "__main__":
    main()
