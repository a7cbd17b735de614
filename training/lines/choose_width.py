"""Choose how much wider than its own aspect ratio a released line model reads a line.

    python -m training.lines.choose_width MODEL_DIR [--scales 1,1.1,1.15,1.2,1.25] [--per-group 150] [--write]

Scores the model folder at each width scale on the same selection lines as ``training.lines.choose``
(fit-part lines of ``real-fit`` and ``real-fit-en`` the recognizer never trained on; never the 20% kept
apart), by the mean over groups of each group's corpus CER. ``--write`` records the best scale in the
folder's ``metadata.json`` (``input.width_scale``), which the engine applies; the ONNX file is unchanged.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from engines.line_reader import METADATA_FILE, MODEL_FILE, LineReaderEngine
from training.lines.choose import group_cers, scored, selection_items
from training.lines.train import DEFAULT_SHARED


def with_width_scale(model_dir: Path, scale: float, out_dir: Path) -> Path:
    """A copy of ``model_dir``'s metadata (the ONNX file linked, not copied) that reads at ``scale``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / MODEL_FILE
    if not target.exists():
        target.symlink_to((model_dir / MODEL_FILE).resolve())
    write_width_scale(model_dir / METADATA_FILE, scale, out_dir / METADATA_FILE)
    return out_dir


def write_width_scale(metadata_path: Path, scale: float, out_path: Path | None = None) -> None:
    """Set ``input.width_scale`` in a ``metadata.json`` (in place unless ``out_path`` is given)."""
    metadata: dict[str, Any] = json.loads(metadata_path.read_text())
    metadata.setdefault("input", {})["width_scale"] = scale
    (out_path or metadata_path).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")


def score_scales(model_dir: Path, scales: list[float], shared: Path, per_group: int) -> dict[str, Any]:
    """Per scale, each selection group's corpus CER and their mean."""
    items = selection_items(shared, per_group)
    table: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for scale in scales:
            folder = with_width_scale(model_dir, scale, Path(tmp) / f"w{scale:g}")
            cers = group_cers(LineReaderEngine(folder), items)
            table[f"{scale:g}"] = scored(cers)
            print(f"{scale:g}", table[f"{scale:g}"], flush=True)
            shutil.rmtree(folder)
    return table


def main() -> None:
    """Score each scale; print, optionally save the table and write the best scale into the model folder."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--scales", default="1,1.1,1.15,1.2,1.25")
    parser.add_argument("--per-group", type=int, default=150)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write", action="store_true", help="record the best scale in MODEL_DIR/metadata.json")
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    table = score_scales(args.model_dir, scales, args.shared, args.per_group)
    best = min(table, key=lambda s: table[s]["mean"])
    print("best width scale:", best)
    if args.json:
        args.json.write_text(json.dumps({"best": float(best), "scales": table}, indent=2) + "\n")
    if args.write:
        write_width_scale(args.model_dir / METADATA_FILE, float(best))


if __name__ == "__main__":
    main()
