"""The training run end to end on a tiny synthetic set: loop, checkpoint, export, metrics, card, engine."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs requirements-training.txt")

from engines.emnist_cnn import EmnistCnnEngine  # noqa: E402
from engines.files import file_digest  # noqa: E402
from training import train  # noqa: E402
from training.classes import CLASSES  # noqa: E402
from training.datasets import DataConfig  # noqa: E402
from training.emnist import CharSet  # noqa: E402
from training.evaluate import metrics  # noqa: E402
from training.export import onnx_predictor, torch_predictor  # noqa: E402
from training.fonts import installed_fonts  # noqa: E402
from training.model import CharCNN  # noqa: E402
from training.synth import render_clean, synthesize  # noqa: E402


@pytest.fixture(scope="module")
def sets() -> dict[str, CharSet]:
    fonts = [f for f in installed_fonts(held_out=False) if f.family == "dejavu"]
    if not fonts:
        pytest.skip("DejaVu fonts are not installed")
    return {
        "train": synthesize(fonts, per_class=3, seed=1),
        "val": synthesize(fonts, per_class=1, seed=2),
        "test": render_clean(fonts[:1]),
    }


def tiny_config(out_dir: Path, **changes: object) -> train.TrainConfig:
    options: dict[str, object] = {
        "epochs": 2,
        "batch_size": 64,
        "width": 8,
        "progress": False,
        "version": "v0",
        **changes,
    }
    return train.TrainConfig(out_dir=out_dir, data=DataConfig(seed=5), **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run_dir(sets: dict[str, CharSet], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "v0"
    patch = pytest.MonkeyPatch()
    patch.setattr(train, "training_parts", lambda data: {"synthetic": sets["train"]})
    patch.setattr(train, "validation_sets", lambda data: {"synthetic-val": sets["val"]})
    patch.setattr(train, "test_sets", lambda data: {"rendered-heldout-fonts": sets["test"]})
    try:
        train.run(tiny_config(out), command="ocr train-cnn --out v0")
    finally:
        patch.undo()
    return out


def test_run_writes_every_artefact(run_dir: Path) -> None:
    names = ["model.onnx", "checkpoint.pt", "metadata.json", "MODEL_CARD.md", "history.csv", "history.png"]
    assert all((run_dir / name).is_file() for name in [*names, "confusion.png"])
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert set(rows[0]) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"}


def test_metadata_and_card_carry_the_digests_and_metrics(run_dir: Path) -> None:
    metadata = json.loads((run_dir / "metadata.json").read_text())
    card = (run_dir / "MODEL_CARD.md").read_text()
    assert metadata["classes"] == CLASSES and metadata["version"] == "v0"
    for name, entry in metadata["files"].items():
        assert entry["sha256"] == file_digest(run_dir / name)
        assert entry["sha256"] in card
    assert file_digest(run_dir / "metadata.json") in card
    assert "ocr train-cnn --out v0" in card
    assert set(metadata["metrics"]) == {"rendered-heldout-fonts", "synthetic-val"}
    assert metadata["onnx_torch_max_abs_diff"] < 1e-4


def test_engine_serves_the_exported_model_like_onnxruntime(run_dir: Path, sets: dict[str, CharSet]) -> None:
    engine = EmnistCnnEngine(run_dir)
    glyphs = sets["test"].images[:20]
    expected = onnx_predictor(run_dir / "model.onnx")(glyphs)
    assert np.allclose(engine.predict(glyphs), expected, atol=1e-6)
    reference = torch_predictor(train.load_checkpoint(run_dir / "checkpoint.pt"))(glyphs)
    assert np.allclose(expected, reference, atol=1e-4)


def test_training_is_deterministic_for_a_seed(sets: dict[str, CharSet], tmp_path: Path) -> None:
    weights = []
    for attempt in range(2):
        out = tmp_path / str(attempt)
        out.mkdir()
        config = tiny_config(out, epochs=1)
        shuffle = train.seed_everything(config.data.seed, 1)
        model = CharCNN(width=config.width).to(memory_format=torch.channels_last)
        train.fit(model, sets["train"], sets["val"], config, shuffle)
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_plateau_lowers_the_rate_and_early_stopping_ends_the_run(
    sets: dict[str, CharSet], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train, "validate", lambda model, data: (1.0, 0.5))  # a validation loss that never improves
    config = tiny_config(tmp_path, epochs=10, early_stop_patience=2, plateau_patience=0)
    model = CharCNN(width=config.width).to(memory_format=torch.channels_last)
    outcome = train.fit(model, sets["train"], sets["val"], config, train.seed_everything(1, 1))
    rates = [row["lr"] for row in outcome["history"]]
    assert len(rates) == 3  # best at epoch 1, then two epochs without improvement
    assert rates[2] < rates[1]
    assert outcome["best_epoch"] == 1


def test_metrics_per_group_and_case_insensitive() -> None:
    labels = np.array([CLASSES.index(c) for c in "0Oo1"])
    guesses = [CLASSES.index(c) for c in "0oO7"]
    probabilities = np.full((4, 62), 0.001, np.float32)
    probabilities[np.arange(4), guesses] = 0.9
    result = metrics(probabilities, labels)
    assert result["accuracy"] == 0.25 and result["case_insensitive"] == 0.75
    assert result["groups"]["digits"] == {"n": 2, "accuracy": 0.5, "case_insensitive": 0.5}
    assert result["groups"]["upper"]["case_insensitive"] == 1.0
    assert result["groups"]["lower"]["accuracy"] == 0.0


def test_balanced_epochs_draw_every_class_about_equally() -> None:
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    order = train.epoch_order(labels, True, torch.Generator().manual_seed(0))
    counts = np.bincount(labels[order], minlength=3)
    assert len(order) == 1000 and (np.abs(counts - 333) < 60).all()
    plain = train.epoch_order(labels, False, torch.Generator().manual_seed(0))
    assert sorted(plain.tolist()) == list(range(1000))
