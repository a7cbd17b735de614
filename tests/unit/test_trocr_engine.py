"""The TrOCR adapter on a tiny model trained in the test and loaded through the real path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")

from engines.base import EngineUnavailable
from engines.preprocess import crop_to_ink
from engines.trocr import (
    InputFit,
    TrOcrEngine,
    fit_crop,
    join_pieces,
    pick_device,
    resolve_model,
    split_wide,
    spread_over_chars,
)
from tests.tiny_trocr import TEXTS, rendered, train_tiny

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("trocr") / "tiny")


@pytest.fixture(scope="module")
def engine(tiny_dir: Path) -> TrOcrEngine:
    return TrOcrEngine(str(tiny_dir), device="cpu")


def test_reads_what_it_was_trained_on(engine: TrOcrEngine) -> None:
    results = engine.recognize_text([rendered(text) for text in TEXTS])
    assert [r.text for r in results] == list(TEXTS)
    for result in results:
        assert len(result.char_confidences) == len(result.text)
        assert all(0.5 < c <= 1.0 for c in result.char_confidences)
        assert result.engine == "trocr"


def test_batch_equals_one_by_one(engine: TrOcrEngine) -> None:
    crops = [rendered(text) for text in TEXTS]
    batched = engine.recognize_text(crops)
    single = [engine.recognize_text([crop])[0] for crop in crops]
    assert [r.text for r in batched] == [r.text for r in single]
    for a, b in zip(batched, single, strict=True):
        assert np.allclose(a.char_confidences, b.char_confidences, atol=1e-3)


def test_white_on_black_crop_reads_the_same(engine: TrOcrEngine) -> None:
    assert engine.recognize_text([255 - rendered("hello")])[0].text == "hello"


def test_blank_crop_reads_nothing(engine: TrOcrEngine) -> None:
    blank = np.full((40, 120), 255, dtype=np.uint8)
    result = engine.recognize_text([blank, rendered("hello")])
    assert (result[0].text, result[0].char_confidences) == ("", ())
    assert result[1].text == "hello"


def test_char_mode_ranks_the_62_classes(engine: TrOcrEngine) -> None:
    results = engine.recognize_chars([rendered("A"), rendered("7")], top_k=3)
    assert [r.top.char for r in results if r.top] == ["A", "7"]
    for result in results:
        assert len(result.candidates) == 3
        confidences = [c.confidence for c in result.candidates]
        assert confidences == sorted(confidences, reverse=True)
        assert all(c.char.isalnum() and len(c.char) == 1 for c in result.candidates)


def test_model_version_names_the_directory_and_weights(engine: TrOcrEngine, tiny_dir: Path) -> None:
    assert engine.model_version.startswith("transformers-")
    assert tiny_dir.name in engine.model_version


def test_missing_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="does not exist"):
        TrOcrEngine(str(tmp_path / "nowhere"))


def test_directory_without_weights_is_unavailable(tmp_path: Path, tiny_dir: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dir, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(EngineUnavailable, match="could not be loaded"):
        TrOcrEngine(str(broken))


def _engine_in_subprocess(model: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "from engines.base import EngineUnavailable\n"
        "from engines.trocr import TrOcrEngine\n"
        "from tests.tiny_trocr import rendered\n"
        "try:\n"
        f"    engine = TrOcrEngine({model!r}, device='cpu')\n"
        "except EngineUnavailable as exc:\n"
        "    print('UNAVAILABLE', exc); sys.exit(3)\n"
        "print('READ', engine.recognize_text([rendered('hello')])[0].text, engine.model_version)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def test_hub_id_offline_without_cache_is_unavailable(tmp_path: Path) -> None:
    done = _engine_in_subprocess(
        "microsoft/trocr-small-printed", {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty-cache")}
    )
    assert done.returncode == 3, done.stderr
    assert "UNAVAILABLE" in done.stdout and "microsoft/trocr-small-printed" in done.stdout


def test_hub_id_loads_from_the_hub_cache_offline(tmp_path: Path, tiny_dir: Path) -> None:
    # The layout huggingface_hub writes when it downloads: refs/main names a snapshot folder.
    repo = tmp_path / "cache" / "models--ocr-tests--tiny-trocr"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    offline_cache = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "cache")}
    done = _engine_in_subprocess("ocr-tests/tiny-trocr", offline_cache)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "READ hello" in done.stdout
    assert "ocr-tests/tiny-trocr@" in done.stdout


def test_resolve_model_tells_directories_from_hub_ids(tmp_path: Path) -> None:
    assert resolve_model(str(tmp_path)) == str(tmp_path.resolve())
    assert resolve_model("microsoft/trocr-base-handwritten") == "microsoft/trocr-base-handwritten"
    with pytest.raises(EngineUnavailable):
        resolve_model(str(tmp_path / "missing" / "dir"))


def test_cuda_is_used_only_when_present() -> None:
    assert pick_device("auto", cuda_available=False) == "cpu"
    assert pick_device("auto", cuda_available=True) == "cuda"
    assert pick_device("cpu", cuda_available=True) == "cpu"
    assert pick_device("cuda", cuda_available=True) == "cuda"
    with pytest.raises(EngineUnavailable, match="no CUDA"):
        pick_device("cuda", cuda_available=False)


def test_auto_device_follows_torch(tiny_dir: Path) -> None:
    import torch

    engine = TrOcrEngine(str(tiny_dir), device="auto")
    assert engine.device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_spread_over_chars_gives_each_char_its_tokens_probability() -> None:
    text, confidences = spread_over_chars([" he", "llo", " w", "!"], [0.9, 0.5, 0.8, 0.4])
    assert text == "hello w!"
    assert confidences == (0.9, 0.9, 0.5, 0.5, 0.5, 0.8, 0.8, 0.4)


def test_fit_crop_pads_narrow_crops_with_paper() -> None:
    crop = rendered("hi")
    fitted = fit_crop(crop, InputFit(True, 10.0))
    assert fitted is not None
    assert fitted.shape[1] == round(fitted.shape[0] * 10.0)
    assert fitted[:, -3:].min() > 200  # paper on the right
    stretched = fit_crop(crop, InputFit(False, 10.0))
    assert stretched is not None and stretched.shape[1] < fitted.shape[1]


def test_sidecar_records_padding(tiny_dir: Path) -> None:
    assert json.loads((tiny_dir / "ocr_engine.json").read_text())["pad_to_aspect"] is True


def test_wide_lines_are_cut_at_word_gaps_into_pieces_that_fit() -> None:
    line = crop_to_ink(rendered("alpha beta gamma delta epsilon zeta eta theta"))  # as the adapter does
    assert line is not None
    height = line.shape[0]
    pieces = split_wide(line, 4.0)
    assert len(pieces) > 2
    assert all(piece.shape[1] <= 4.0 * height for piece in pieces)
    # Cuts fall in word gaps: the pieces are whole words, and together they keep every ink column.
    assert [piece[:, -1].min() > 200 for piece in pieces[:-1]] == [True] * (len(pieces) - 1)
    assert sum(piece.shape[1] for piece in pieces) < line.shape[1]  # the gaps themselves are dropped
    ink_columns = int((line < 128).any(axis=0).sum())
    assert sum(int((p < 128).any(axis=0).sum()) for p in pieces) == ink_columns
    assert split_wide(rendered("short"), 4.0)[0].shape == rendered("short").shape


def test_pieces_join_with_spaces_that_take_their_neighbours_confidence() -> None:
    text, confidences = join_pieces([("ab", (0.9, 0.7)), ("", ()), ("c", (0.5,))])
    assert text == "ab c"
    assert confidences == (0.9, 0.7, 0.6, 0.5)
    assert join_pieces([]) == ("", ())


def test_a_wide_line_is_read_piece_by_piece(engine: TrOcrEngine) -> None:
    # The tiny model's input is 4x wider than high: three trained words side by side exceed it.
    words = [rendered(text) for text in ("hello", "OCR 42", "hello")]
    height = max(word.shape[0] for word in words)
    canvas = np.full((height, sum(word.shape[1] + 30 for word in words)), 255, dtype=np.uint8)
    left = 0
    for word in words:
        canvas[: word.shape[0], left : left + word.shape[1]] = word
        left += word.shape[1] + 30
    line = canvas
    result = engine.recognize_text([line])[0]
    assert result.text == "hello OCR 42 hello"
    assert len(result.char_confidences) == len(result.text)
