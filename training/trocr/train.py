"""Train the small TrOCR on endless synthetic lines for a fixed time, keeping the best checkpoint.

Run: ``python -m training.trocr.train --out models/trocr_small_synth/v1 --minutes 80``. Every
``--eval-minutes`` the model is saved to ``<out>/checkpoint`` and read back through the engine adapter
(the serving path) on a fixed validation set drawn from held-out fonts; the best one by CER is kept in
``<out>``. ``<out>/training.json`` records the settings, the history and the data.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rapidfuzz.distance import Levenshtein
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from engines.trocr import InputFit, TrOcrEngine
from training.fonts import FontFile, installed_fonts
from training.trocr.build import ModelSpec, build_model, build_processor, save_model_dir, train_tokenizer
from training.trocr.corpus import load_words, sample_text
from training.trocr.ctc_aux import ColumnCtcHead
from training.trocr.data import LabelledImage, collate, endless, fixed_set


@dataclass(frozen=True)
class TrainConfig:
    """Everything that fixes a training run."""

    out: Path
    minutes: float = 80.0
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_steps: int = 200
    weight_decay: float = 0.01
    ctc_weight: float = 1.0  # auxiliary CTC loss on the encoder (training/trocr/ctc_aux.py); 0: off
    seed: int = 7
    threads: int = 2
    data_workers: int = 1
    eval_minutes: float = 12.0
    val_count: int = 300
    tokenizer_texts: int = 60_000
    spec: ModelSpec = field(default_factory=ModelSpec)


class SyntheticLines(IterableDataset[LabelledImage]):
    """Endless samples; each data-loader worker draws from its own seed."""

    def __init__(self, words: Sequence[str], fonts: Sequence[FontFile], fit: InputFit, seed: int) -> None:
        self.words, self.fonts, self.fit, self.seed = words, fonts, fit, seed

    def __iter__(self) -> Iterator[LabelledImage]:
        info = get_worker_info()
        return endless(self.words, self.fonts, self.fit, self.seed * 1000 + (info.id if info else 0))


def character_error_rate(predictions: Sequence[str], truths: Sequence[str]) -> float:
    """Edit distance over all items divided by the number of true characters."""
    edits = sum(Levenshtein.distance(p, t) for p, t in zip(predictions, truths, strict=True))
    return edits / max(1, sum(len(t) for t in truths))


def evaluate_dir(directory: Path, items: Sequence[LabelledImage], threads: int) -> dict[str, float]:
    """CER and exact-match rate of the model in ``directory``, read through the engine adapter."""
    engine = TrOcrEngine(str(directory), device="cpu", threads=threads, batch_size=32)
    readings = [r.text for r in engine.recognize_text([item.image for item in items])]
    truths = [item.text for item in items]
    exact = sum(p == t for p, t in zip(readings, truths, strict=True)) / max(1, len(items))
    return {"cer": round(character_error_rate(readings, truths), 4), "exact": round(exact, 4)}


def learning_rate(step: int, elapsed: float, config: TrainConfig) -> float:
    """Linear warm-up over steps, then cosine decay over the time budget (to 5% of the peak)."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = min(1.0, elapsed / (config.minutes * 60.0))
    return config.learning_rate * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def _save(model: Any, processor: Any, config: TrainConfig, directory: Path) -> None:
    save_model_dir(model, processor, config.spec, directory, {"trained_by": "training.trocr.train"})


def run(config: TrainConfig, command: str) -> dict[str, Any]:
    """Train for ``config.minutes``; return the training record (also written to ``training.json``)."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    words = load_words()
    train_fonts, held_out_fonts = installed_fonts(held_out=False), installed_fonts(held_out=True)
    rng = np.random.default_rng(config.seed)
    corpus = (sample_text(words, rng) for _ in range(config.tokenizer_texts))
    tokenizer = train_tokenizer(corpus, config.spec.vocab_size)
    processor = build_processor(tokenizer, config.spec)
    model = build_model(tokenizer, config.spec)
    spec = config.spec
    ctc_head = ColumnCtcHead(spec.hidden_size, rows=spec.image_height // spec.patch_height)
    fit = InputFit(True, config.spec.image_width / config.spec.image_height)
    val = fixed_set(words, held_out_fonts, fit, config.val_count, seed=config.seed + 1)
    loader = DataLoader(
        SyntheticLines(words, train_fonts, fit, config.seed),
        batch_size=config.batch_size,
        num_workers=config.data_workers,
        collate_fn=lambda items: collate(items, processor),
        prefetch_factor=4 if config.data_workers else None,
    )
    parameters = [*model.parameters(), *ctc_head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"cer": math.inf}
    started = last_eval = time.monotonic()
    step, samples, running, running_ctc = 0, 0, 0.0, 0.0
    model.train()
    for batch in loader:
        elapsed = time.monotonic() - started
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, elapsed, config)
        texts = batch.pop("texts")
        out = model(**batch)
        loss = out.loss
        if config.ctc_weight:
            ctc = ctc_head(out.encoder_last_hidden_state, texts)
            loss = loss + config.ctc_weight * ctc
            running_ctc = 0.98 * running_ctc + 0.02 * float(ctc.detach()) if step else float(ctc.detach())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        step, samples = step + 1, samples + len(batch["labels"])
        decoder_loss = float(out.loss.detach())
        running = 0.98 * running + 0.02 * decoder_loss if step > 1 else decoder_loss
        done = elapsed >= config.minutes * 60.0
        if step % 50 == 0:
            print(
                f"step {step} samples {samples} loss {running:.3f} ctc {running_ctc:.3f} {elapsed / 60:.1f} min",
                flush=True,
            )
        if done or time.monotonic() - last_eval >= config.eval_minutes * 60.0:
            last_eval = time.monotonic()
            checkpoint = config.out / "checkpoint"
            _save(model, processor, config, checkpoint)
            scores = evaluate_dir(checkpoint, val, config.threads)
            record = {"step": step, "samples": samples, "minutes": round(elapsed / 60, 1), "loss": round(running, 4)}
            history.append({**record, **scores})
            print(f"validation {history[-1]}", flush=True)
            if scores["cer"] < best["cer"]:
                best = history[-1]
                _save(model, processor, config, config.out)
            model.train()
        if done:
            break
    shutil.rmtree(config.out / "checkpoint", ignore_errors=True)
    record = {
        "command": command,
        "config": {**asdict(config), "out": str(config.out)},
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_fonts": sorted({f.family for f in train_fonts}),
        "held_out_fonts": sorted({f.family for f in held_out_fonts}),
        "history": history,
        "best": best,
    }
    (config.out / "training.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return record


def parse(argv: Sequence[str]) -> TrainConfig:
    """Command-line options into a :class:`TrainConfig`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=TrainConfig.minutes)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--threads", type=int, default=TrainConfig.threads)
    parser.add_argument("--data-workers", type=int, default=TrainConfig.data_workers)
    parser.add_argument("--eval-minutes", type=float, default=TrainConfig.eval_minutes)
    parser.add_argument("--val-count", type=int, default=TrainConfig.val_count)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
    parser.add_argument("--ctc-weight", type=float, default=TrainConfig.ctc_weight)
    args = parser.parse_args(argv)
    return TrainConfig(
        out=args.out,
        minutes=args.minutes,
        batch_size=args.batch_size,
        threads=args.threads,
        data_workers=args.data_workers,
        eval_minutes=args.eval_minutes,
        val_count=args.val_count,
        seed=args.seed,
        learning_rate=args.learning_rate,
        ctc_weight=args.ctc_weight,
    )


if __name__ == "__main__":
    run(parse(sys.argv[1:]), "python -m training.trocr.train " + " ".join(sys.argv[1:]))
