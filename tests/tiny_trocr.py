"""A tiny TrOCR-architecture model trained in seconds on a few rendered strings, saved like a real one.

The engine tests load it through the adapter's real path (``from_pretrained`` of a local directory
or, offline, of a hub id found in a Hugging Face cache) instead of needing Microsoft's weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engines.trocr import InputFit, fit_crop
from tests.rendering import render
from training.trocr.build import ModelSpec, build_model, build_processor, save_model_dir, train_tokenizer
from training.trocr.corpus import CHARSET
from training.trocr.data import LabelledImage, collate

TEXTS = ("hello", "OCR 42", "A", "7")


def rendered(text: str) -> np.ndarray:
    """The crop the tiny model learns and is tested on: ``text`` in DejaVu Sans, 32 px."""
    return render(text, size=32)


def train_tiny(directory: Path, texts: Sequence[str] = TEXTS, steps: int = 300, seed: int = 0) -> Path:
    """Overfit a tiny model on ``texts`` and save it (model, processor, sidecar) in ``directory``."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # several threads fight the other processes on a small machine: 50x slower
    spec = ModelSpec.tiny()
    tokenizer = train_tokenizer([*texts, CHARSET], vocab_size=300)
    processor = build_processor(tokenizer, spec)
    model = build_model(tokenizer, spec)
    fit = InputFit(True, spec.image_width / spec.image_height)
    items = [LabelledImage(fit_crop(rendered(t), fit), t, "dejavu") for t in texts]  # type: ignore[arg-type]
    batch = collate(items, processor)
    batch.pop("texts")
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    save_model_dir(model, processor, spec, directory, {"trained_by": "tests.tiny_trocr"})
    return directory
