"""Weight-space interpolation between the pretrained recognizer and a fine-tuned one (WiSE-FT).

Fine-tuning on a few collections teaches their hands and faces and makes the network forget some of
what PP-OCR read well elsewhere (Fraktur, typescripts). Averaging the weights,
``(1 - alpha) * pretrained + alpha * fine-tuned``, keeps much of both (Wortsman et al., 2022, "Robust
fine-tuning of zero-shot models"). ``alpha`` is chosen on real lines the model never trained on and
that are not the kept-apart part (:mod:`training.lines.choose`).

    python -m training.lines.interpolate CHECKPOINT OUT_DIR --alpha 0.5 [--version v1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from training.lines.charset import LINE_CHARSET
from training.lines.model import LineRecognizer, build_from_pretrained
from training.lines.release import write_release


def interpolated(checkpoint: Path, alpha: float) -> LineRecognizer:
    """The pretrained model moved ``alpha`` of the way to the fine-tuned weights in ``checkpoint``."""
    model = build_from_pretrained(LINE_CHARSET)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    tuned = torch.load(checkpoint, map_location="cpu", weights_only=False)["model"]
    mixed = {
        key: (1 - alpha) * value + alpha * tuned[key] if value.is_floating_point() else tuned[key]
        for key, value in start.items()
    }
    model.load_state_dict(mixed)
    return model


def main() -> None:
    """Write an interpolated release (model.onnx + metadata.json)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--version", default="v1")
    args = parser.parse_args()
    write_release(interpolated(args.checkpoint, args.alpha), args.out, args.version)


if __name__ == "__main__":
    main()
