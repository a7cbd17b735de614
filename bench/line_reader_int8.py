"""Would an int8 line recognizer meet the 30 ms a line target without reading worse? (issue 21)

Builds a static int8 variant of the shipped ``line_reader`` model with onnxruntime's quantiser (QDQ,
per-channel int8 weights, uint8 activations, MinMax calibration on real training lines of
``../shared/data/real-train``; convolutions only, which are 80% of its time, the first and last left in
float), then measures both in the same run: ms per 800-px real line on one thread (as
``bench/line_reader_cost.py``) and corpus CER on the selection lines of ``training.lines.choose``
(fit-part lines never trained on; never the kept-apart 20%).

    python bench/line_reader_int8.py [--calibration 96] [--per-group 100]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from PIL import Image

from bench.common import append_section, machine_line
from bench.line_reader_cost import engine_passes_ms, lines_800
from engines.files import file_digest
from engines.line_input import prepare_line
from engines.line_reader import METADATA_FILE, MODEL_FILE, LineReaderEngine, width_scale_of
from engines.preprocess import dark_ink_on_light, to_gray
from training.lines.choose import group_cers, selection_items
from training.real import DEFAULT_DATA_DIR

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "line_reader" / "v1"


def calibration_inputs(count: int, seed: int = 1) -> list[dict[str, np.ndarray]]:
    """``count`` real training lines prepared as the engine prepares them, one per calibration step."""
    root = DEFAULT_DATA_DIR / "real-train"
    with (root / "manifest.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    random.Random(seed).shuffle(rows)
    images = [np.asarray(Image.open(root / row["file"]).convert("RGB")) for row in rows[:count]]
    scale = width_scale_of(json.loads((SHIPPED / METADATA_FILE).read_text()))
    return [{"x": prepare_line(dark_ink_on_light(to_gray(image)), scale)[None]} for image in images]


def quantised_folder(out: Path, calibration: int) -> Path:
    """A model folder holding the int8 variant (the character list kept in its metadata)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._inputs = iter(calibration_inputs(calibration))

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._inputs, None)

    out.mkdir(parents=True, exist_ok=True)
    prepared = out / "prepared.onnx"
    quant_pre_process(str(SHIPPED / MODEL_FILE), str(prepared), skip_symbolic_shape=True)
    convs = [node.name for node in onnx.load(str(prepared)).graph.node if node.op_type == "Conv"]
    quantize_static(
        str(prepared), str(out / MODEL_FILE), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"],
        nodes_to_exclude=[convs[0], convs[-1]],
    )  # fmt: skip
    model, shipped = onnx.load(str(out / MODEL_FILE)), onnx.load(str(SHIPPED / MODEL_FILE))
    del model.metadata_props[:]
    model.metadata_props.extend(shipped.metadata_props)
    onnx.save(model, str(out / MODEL_FILE))
    metadata = json.loads((SHIPPED / METADATA_FILE).read_text())
    metadata["files"][MODEL_FILE]["sha256"] = file_digest(out / MODEL_FILE)
    (out / METADATA_FILE).write_text(json.dumps(metadata))
    return out


def ms_per_line(folder: Path, crops: list[np.ndarray], repeats: int = 3) -> float:
    """Median ms per line, one line per call, one thread, after a warm-up pass."""
    return statistics.median(engine_passes_ms(LineReaderEngine(folder, threads=1), crops, repeats))


def main() -> None:
    """Build the variant, measure both, append a section to bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibration", type=int, default=96)
    parser.add_argument("--per-group", type=int, default=100)
    args = parser.parse_args()
    crops, items = lines_800(20), selection_items(DEFAULT_DATA_DIR, args.per_group)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, folder in (("float32 (shipped)", SHIPPED), ("int8", quantised_folder(Path(tmp), args.calibration))):
            cers = group_cers(LineReaderEngine(folder), items)
            mean = float(np.mean(list(cers.values())))
            rows.append((name, ms_per_line(folder, crops), cers, mean))
            print(rows[-1], flush=True)
    groups = list(rows[0][2])
    lines = [
        machine_line(),
        f"- speed: 20 real lines at 800 px, one thread (as line_reader_cost); CER: {len(items)} selection lines "
        "(fit part, never trained on), corpus CER per group on normalised text; calibration: "
        f"{args.calibration} real-train lines",
        "",
        "| model | ms per 800-px line | " + " | ".join(groups) + " | mean |",
        "| --- | ---: | " + " | ".join("---:" for _ in groups) + " | ---: |",
        *(
            f"| {name} | {ms:.1f} | " + " | ".join(f"{100 * cers[g]:.2f}%" for g in groups) + f" | {100 * mean:.2f}% |"
            for name, ms, cers, mean in rows
        ),
    ]
    append_section(RESULTS, "line_reader_int8", "python bench/line_reader_int8.py " + " ".join(sys.argv[1:]), lines)


if __name__ == "__main__":
    main()
