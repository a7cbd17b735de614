"""What ships for a trained line recognizer: ``model.onnx`` and ``metadata.json`` (version, digest).

``metadata.json`` pins the ONNX file's sha256, which the engine checks before loading it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engines.files import file_digest
from engines.line_input import HEIGHT
from engines.line_reader import METADATA_FILE, MODEL_FILE
from training.lines.charset import LINE_CHARSET
from training.lines.model import LineRecognizer, build_from_pretrained, export_onnx


def write_metadata(out_dir: Path, version: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``metadata.json`` for the ``model.onnx`` already in ``out_dir``."""
    metadata = {
        "name": "line_reader",
        "version": version,
        "input": {"name": "x", "height": HEIGHT, "channels": 3, "normalise": "(pixel / 255 - 0.5) / 0.5"},
        "output": {"name": "probabilities", "blank": 0},
        "characters": len(LINE_CHARSET),
        # The languages the engine declares are read from this (engines.line_reader.LineReaderEngine.languages).
        "charset": LINE_CHARSET,
        "files": {MODEL_FILE: {"sha256": file_digest(out_dir / MODEL_FILE)}},
        **(extra or {}),
    }
    (out_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
    return metadata


def write_release(model: LineRecognizer, out_dir: Path, version: str) -> None:
    """Export ``model`` to ONNX (character set in its metadata) and write ``metadata.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    export_onnx(
        model.cpu().eval(), out_dir / MODEL_FILE, {"character": LINE_CHARSET, "height": str(HEIGHT), "version": version}
    )
    write_metadata(out_dir, version)


def main() -> None:
    """``python -m training.lines.release CHECKPOINT OUT_DIR [VERSION]``: export a training checkpoint."""
    import sys

    import torch

    checkpoint, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    version = sys.argv[3] if len(sys.argv) > 3 else out_dir.name
    model = build_from_pretrained(LINE_CHARSET)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=False)["model"])
    write_release(model, out_dir, version)


if __name__ == "__main__":
    main()
