"""Measure a TrOCR model directory through the engine adapter and write its MODEL_CARD.md.

Run: ``python -m training.trocr.evaluate models/trocr_small_synth/v1``. Test sets, none trained on:

- ``heldout-fonts-augmented``: synthetic lines in the held-out fonts, augmented like training data;
- ``heldout-fonts-clean``: the same fonts, drawn clean;
- ``real-handwriting-words``: digit strings and words composed from real MNIST / CoMNIST glyphs of
  the held-out splits (``evaluation.samples.handwritten_words``; needs ``../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engines.trocr import InputFit, TrOcrEngine
from training.fonts import installed_fonts
from training.trocr.card import write_card
from training.trocr.corpus import load_words
from training.trocr.data import LabelledImage, fixed_set
from training.trocr.train import character_error_rate

TEST_SEED = 20261123


def _score(engine: TrOcrEngine, items: Sequence[LabelledImage]) -> dict[str, Any]:
    readings = [r.text for r in engine.recognize_text([item.image for item in items])]
    truths = [item.text for item in items]
    exact = sum(p == t for p, t in zip(readings, truths, strict=True)) / max(1, len(items))
    examples = [{"truth": t, "read": p} for p, t in list(zip(readings, truths, strict=True))[:8]]
    return {
        "items": len(items),
        "cer": round(character_error_rate(readings, truths), 4),
        "exact": round(exact, 4),
        "examples": examples,
    }


def real_handwriting(count: int, seed: int) -> list[LabelledImage]:
    """Composed real-handwriting words, or none when the shared data is not on this machine."""
    from evaluation.samples import handwritten_words
    from training.real import DEFAULT_DATA_DIR

    if not (DEFAULT_DATA_DIR / "mnist-t10k-part").is_dir():
        return []
    composed = handwritten_words(DEFAULT_DATA_DIR, count, seed)
    return [LabelledImage(image, text, source) for image, text, source in composed]


def measure(directory: Path, count: int, threads: int) -> dict[str, Any]:
    """Every test set's CER and exact-match rate for the model in ``directory``."""
    engine = TrOcrEngine(str(directory), device="cpu", threads=threads, batch_size=32)
    sidecar = json.loads((directory / "ocr_engine.json").read_text(encoding="utf-8"))
    spec = sidecar["spec"]
    fit = InputFit(True, spec["image_width"] / spec["image_height"])
    words = load_words()
    held_out = installed_fonts(held_out=True)
    sets = {
        "heldout-fonts-augmented": fixed_set(words, held_out, fit, count, TEST_SEED),
        "heldout-fonts-clean": fixed_set(words, held_out, fit, count, TEST_SEED + 1, augment=False),
        # The adapter fits crops itself: hand it the composed words as they are.
        "real-handwriting-words": real_handwriting(count // 2, TEST_SEED),
    }
    return {
        "model_version": engine.model_version,
        "sets": {name: _score(engine, items) for name, items in sets.items() if items},
    }


def main(argv: Sequence[str]) -> None:
    """Measure, write ``metrics.json`` and MODEL_CARD.md beside the weights."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    metrics = measure(args.directory, args.count, args.threads)
    (args.directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    write_card(args.directory, metrics, "python -m training.trocr.evaluate " + " ".join(argv))
    summary = {name: {k: v for k, v in result.items() if k != "examples"} for name, result in metrics["sets"].items()}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
