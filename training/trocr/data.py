"""Endless synthetic samples for training, fixed sets for validation, batches for the model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engines.trocr import InputFit, fit_crop
from training.fonts import FontFile
from training.trocr.corpus import sample_text
from training.trocr.render import Sample, pick_sample


@dataclass(frozen=True)
class LabelledImage:
    """A crop fitted to the encoder's input, with its text and the font family that drew it."""

    image: np.ndarray
    text: str
    font: str


def make_item(
    words: Sequence[str], fonts: Sequence[FontFile], fit: InputFit, rng: np.random.Generator, augment: bool = True
) -> LabelledImage | None:
    """One sample through the same crop fitting the engine applies at serving time."""
    texts = [sample_text(words, rng) for _ in range(4)]
    sample: Sample = pick_sample(texts, fonts, rng, augment)
    fitted = fit_crop(sample.image, fit)
    return None if fitted is None else LabelledImage(fitted, sample.text, sample.font)


def fixed_set(
    words: Sequence[str], fonts: Sequence[FontFile], fit: InputFit, count: int, seed: int, augment: bool = True
) -> list[LabelledImage]:
    """``count`` samples, each from its own generator seeded by ``(seed, index)``: reproducible."""
    items = []
    for index in range(count * 2):
        item = make_item(words, fonts, fit, np.random.default_rng([seed, index]), augment)
        if item is not None:
            items.append(item)
        if len(items) == count:
            break
    return items


def endless(words: Sequence[str], fonts: Sequence[FontFile], fit: InputFit, seed: int) -> Iterator[LabelledImage]:
    """Samples forever, from one generator per ``seed`` (one per data-loader worker)."""
    rng = np.random.default_rng(seed)
    while True:
        item = make_item(words, fonts, fit, rng)
        if item is not None:
            yield item


def collate(items: Sequence[LabelledImage], processor: Any) -> dict[str, Any]:
    """Pixel values, labels (token ids + end token, padding masked with -100) and the texts of a batch."""
    import torch

    rgb = [np.repeat(item.image[:, :, None], 3, axis=2) for item in items]
    pixels = processor(images=rgb, return_tensors="pt").pixel_values
    tokenizer = processor.tokenizer
    encoded = [[*tokenizer(item.text, add_special_tokens=False).input_ids, tokenizer.eos_token_id] for item in items]
    width = max(len(ids) for ids in encoded)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    for row, ids in enumerate(encoded):
        labels[row, : len(ids)] = torch.tensor(ids)
    return {"pixel_values": pixels, "labels": labels, "texts": [item.text for item in items]}
