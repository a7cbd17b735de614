"""Readings of ``line_reader`` reading each text crop twice, as sent and stretched sideways, keeping the
reading it is more confident of (mean log confidence per character): an experiment, not the engine's
behaviour. Writes readings (as ``ocr eval --save-readings``) to score with ``bench/accuracy_real.py``
beside saved PP-OCR readings.

    python bench/line_reader_two_views.py final.tsv --stretch 1.4 --out lr_two_views.jsonl
    python bench/accuracy_real.py final.tsv --readings paddleocr.jsonl --readings lr_two_views.jsonl \\
        --preset general=config/presets.d/general.json --by group

Word boxes of a reading taken from the stretched view are on the stretched crop (this experiment scores
text only). Characters are not read.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from config.settings import Settings
from engines.base import Crop, TextResult
from engines.line_reader import LineReaderEngine
from engines.paddleocr import PaddleOcrEngine
from evaluation.manifest import load_items
from evaluation.readings import read_locally, save_readings


def stretched(crop: Crop, factor: float) -> Crop:
    """``crop`` resized to ``factor`` times its width."""
    if crop.size == 0:
        return crop
    width = max(1, int(crop.shape[1] * factor))
    return np.asarray(cv2.resize(crop, (width, crop.shape[0]), interpolation=cv2.INTER_AREA))


def mean_log_confidence(result: TextResult) -> float:
    """How sure a reading is: the mean log confidence of its characters (very low for an empty one)."""
    confidences = np.clip(np.asarray(result.char_confidences, dtype=np.float64), 1e-6, 1.0)
    return float(np.mean(np.log(confidences))) if confidences.size else -99.0


class TwoViewLineReader(LineReaderEngine):
    """``line_reader`` reading each crop as sent and ``stretch`` times wider, keeping the surer reading."""

    def __init__(self, model_dir: Path, stretch: float) -> None:
        super().__init__(model_dir)
        self._stretch = stretch

    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        """The surer of the two views' readings, per crop."""
        as_sent = super().recognize_text(crops)
        wider = super().recognize_text([stretched(crop, self._stretch) for crop in crops])
        return [
            a if mean_log_confidence(a) >= mean_log_confidence(b) else b for a, b in zip(as_sent, wider, strict=True)
        ]


def main() -> None:
    """Read the manifest's text items (pages through PP-OCR's line detection, as the evaluation does)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--stretch", type=float, default=1.4)
    parser.add_argument("--model-dir", type=Path, default=Path(__file__).resolve().parents[1] / "models/line_reader/v1")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    items = [item for item in load_items(args.manifest) if item.kind != "char"]
    engines = {"line_reader": TwoViewLineReader(args.model_dir, args.stretch)}
    layout = PaddleOcrEngine.from_settings(Settings(onnx_threads=1))
    save_readings(args.out, read_locally(items, engines, layout))


if __name__ == "__main__":
    main()
