"""The line recognizer's training on a tiny real subset: loss goes down, export loads and reads."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from engines.line_reader import LineReaderEngine
from training.lines.charset import LINE_CHARSET, training_text
from training.lines.data import LineSample, real_train_lines, split_by_document
from training.lines.model import build_from_pretrained
from training.lines.release import write_release
from training.lines.train import TrainConfig, _optimizer, _read_gray, train_step
from training.real import DEFAULT_DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
SHARED = DEFAULT_DATA_DIR


@pytest.fixture(scope="module")
def few_lines() -> list[LineSample]:
    if not (SHARED / "real-train" / "manifest.tsv").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED / 'real-train'} is missing")
        pytest.skip(f"{SHARED / 'real-train'} is missing")
    lines = real_train_lines(SHARED)
    short = [line for line in lines if line.group == "handwritten-fr" and 12 <= len(line.text) <= 30]
    return short[:4]


def test_training_text_keeps_historical_forms_and_drops_what_it_cannot_teach() -> None:
    assert training_text("  Daß\u00a0\u017fie  ko\u0364mmt ") == "Daß \u017fie ko\u0364mmt"
    assert training_text("αβγ") is None
    assert all(char in LINE_CHARSET for char in "éèàçœſ¬ẽ")


def test_split_keeps_whole_documents_together() -> None:
    lines = [LineSample(Path(f"{d}-{i}.jpg"), "x", "g", f"doc{d}") for d in range(40) for i in range(5)]
    train, validation = split_by_document(lines, 0.2)
    assert train and validation
    assert not {line.document for line in train} & {line.document for line in validation}


def test_few_steps_lower_the_loss_and_the_export_reads(few_lines: list[LineSample], tmp_path: Path) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = build_from_pretrained(LINE_CHARSET)
    config = TrainConfig(out_dir=tmp_path, work_dir=tmp_path, lr=2e-4, warmup=1)
    optimizer = _optimizer(model, config)
    for group in optimizer.param_groups:
        group["lr"] = config.lr * group["lr_factor"]
    images, texts = [_read_gray(line.path) for line in few_lines], [line.text for line in few_lines]
    model.train()
    losses = [train_step(model, optimizer, images, texts, "cpu") for _ in range(10)]
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.7 * losses[0], losses

    release = tmp_path / "release"
    write_release(model, release, "test")
    engine = LineReaderEngine(release)
    readings = engine.recognize_text(images)
    assert engine.model_version.startswith("line_reader/test-")
    # After overfitting four lines the exported model reads them back nearly as taught.
    edits = sum(_distance(r.text, t) for r, t in zip(readings, texts, strict=True))
    assert edits / sum(len(t) for t in texts) < 0.15, [r.text for r in readings]


def _distance(a: str, b: str) -> int:
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(a, b))
