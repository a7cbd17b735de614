"""The recognizer to fine-tune: PP-OCR's recognition network from the rapidocr wheel, in PyTorch.

The wheel's ONNX graph is converted with onnx2torch up to the 120-wide sequence features; our own
linear CTC head replaces PP-OCR's 18,710-way one. Its rows start as PP-OCR's rows for the characters
both sets share (look-alikes for the historical ones PP-OCR lacks), so the network reads as well as
PP-OCR on our set before training. Three quirks of the graph are handled here: convolutions padded with
``auto_pad=SAME_UPPER`` (onnx2torch does not take it) are given the same explicit padding; the 135
``Identity`` nodes the Paddle export left are bypassed (onnx2torch turns each into a copy of its input:
a third of the forward time and gigabytes of activations in training); and the three batch norms are
kept in inference mode (small batches would spoil their statistics).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

FEATURES_OUTPUT = "p2o.pd_op.transpose.8.0"  # the (N, T, 120) features before PP-OCR's head
HEAD_WEIGHT, HEAD_BIAS = "linear_8.w_0", "linear_8.b_0"
PRETRAINED_FILE = "PP-OCRv6_rec_small.onnx"
# Where a character PP-OCR's dictionary lacks takes its first head row from.
LOOK_ALIKES = {
    "\u017f": "f", "ꝛ": "r", "⸗": "=", "¬": "-", "\u0364": "e", "\u0366": "o", "\u0303": "~", "ʳ": "r", "ˢ": "s",
    "ẽ": "e", "ṽ": "v", "Ĵ": "J", "ć": "c", "„": ",", "\u201a": ",", "†": "+", "¹": "1", "²": "2", "³": "3",
}  # fmt: skip


def pretrained_path() -> Path:
    """The recognition model rapidocr ships in its wheel."""
    import rapidocr

    return Path(rapidocr.__file__).parent / "models" / PRETRAINED_FILE


def pretrained_characters(model: Any) -> list[str]:
    """PP-OCR's output classes: the CTC blank, its dictionary (ONNX metadata), then the space."""
    meta = {prop.key: prop.value for prop in model.metadata_props}
    return ["<blank>", *meta["character"].split("\n"), " "]


def _explicit_padding(model: Any) -> None:
    from onnx import helper

    for node in model.graph.node:
        for attribute in list(node.attribute):
            if attribute.name == "auto_pad" and attribute.s == b"SAME_UPPER":
                kernel = next(a.ints for a in node.attribute if a.name == "kernel_shape")
                if any(k != 2 for k in kernel):  # the only kernels this graph pads this way
                    raise ValueError(f"unexpected SAME_UPPER kernel {list(kernel)} in {node.name}")
                node.attribute.remove(attribute)
                node.attribute.append(helper.make_attribute("pads", [0, 0, 1, 1]))


def _bypass_identities(model: Any) -> None:
    """Remove ``Identity`` nodes, feeding their consumers (and graph outputs) their input instead."""
    graph = model.graph
    outputs = {output.name for output in graph.output}
    alias: dict[str, str] = {}
    kept = []
    for node in graph.node:
        if node.op_type == "Identity" and node.output[0] not in outputs:
            alias[node.output[0]] = alias.get(node.input[0], node.input[0])
            continue
        for i, name in enumerate(node.input):
            if name in alias:
                node.input[i] = alias[name]
        kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)


class ShapeSlice(nn.Module):
    """``x.shape[start:end]`` as a tensor, traced by the ONNX exporter as Shape + Slice (dynamic width).

    Stands in for onnx2torch's own Shape module, whose export path asks torch for the opset through a
    private attribute that torch's exporter no longer always has.
    """

    def __init__(self, start: int, end: int | None) -> None:
        super().__init__()
        self.start, self.end = start, end

    def forward(self, tensor: torch.Tensor) -> torch.Tensor:
        """The sizes of ``tensor`` from ``start`` to ``end``."""
        return torch._shape_as_tensor(tensor)[self.start : self.end]


class SqueezeAxes(nn.Module):
    """``x`` without the given size-1 axes (traced by the exporter as Squeeze); stands in for onnx2torch's,
    whose export path has the same opset lookup as its Shape module."""

    def __init__(self, axes: list[int]) -> None:
        super().__init__()
        self.axes = sorted(axes, reverse=True)

    def forward(self, tensor: torch.Tensor) -> torch.Tensor:
        """Squeezed ``tensor``."""
        for axis in self.axes:
            tensor = tensor.squeeze(axis)
        return tensor


def _own_export_modules(body: nn.Module) -> None:
    """Replace onnx2torch's Shape and Squeeze modules by ours (same results, plain torch export)."""
    from onnx2torch.node_converters.shape import OnnxShape
    from onnx2torch.node_converters.squeeze import OnnxSqueezeStaticAxes

    for name, module in list(body.named_modules()):
        replacement: nn.Module | None = None
        if isinstance(module, OnnxShape):
            replacement = ShapeSlice(module._start, module._end)
        elif isinstance(module, OnnxSqueezeStaticAxes) and module.axes:
            replacement = SqueezeAxes(list(module.axes))
        if replacement is not None:
            parent_name, _, child = name.rpartition(".")
            parent = body.get_submodule(parent_name) if parent_name else body
            setattr(parent, child, replacement)


class LineRecognizer(nn.Module):
    """PP-OCR's recognition body and our CTC head; outputs logits ``(N, T, classes)``."""

    def __init__(self, body: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.body = body
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits per time step."""
        return self.head(self.body(images))  # type: ignore[no-any-return]

    def train(self, mode: bool = True) -> LineRecognizer:
        """Train mode everywhere but the batch norms (frozen statistics)."""
        super().train(mode)
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self


class WithSoftmax(nn.Module):
    """What is exported: probabilities per time step, as PP-OCR's own graph outputs."""

    def __init__(self, model: LineRecognizer) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Softmax over classes."""
        return torch.softmax(self.model(images), dim=-1)


def build_from_pretrained(charset: str, source: Path | None = None) -> LineRecognizer:
    """The pretrained PP-OCR body with a head over ``<blank>`` + ``charset`` initialised from PP-OCR's."""
    import onnx
    from onnx import numpy_helper
    from onnx.utils import Extractor
    from onnx2torch import convert

    model = onnx.load(str(source or pretrained_path()))
    _explicit_padding(model)
    _bypass_identities(model)
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    characters = pretrained_characters(model)
    body_graph = Extractor(model).extract_model(["x"], [FEATURES_OUTPUT])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        body = convert(body_graph)
    _own_export_modules(body)
    index = {char: i for i, char in enumerate(characters)}
    weight, bias = weights[HEAD_WEIGHT], weights[HEAD_BIAS]  # (120, classes), (classes,)
    rows = [0] + [index.get(char, index.get(LOOK_ALIKES.get(char, ""), -1)) for char in charset]
    head = nn.Linear(weight.shape[0], len(rows))
    with torch.no_grad():
        mean_w, mean_b = weight[:, 1:].mean(axis=1), bias[1:].mean()
        head.weight.copy_(torch.from_numpy(np.stack([weight[:, r] if r >= 0 else mean_w for r in rows])))
        head.bias.copy_(torch.from_numpy(np.array([bias[r] if r >= 0 else mean_b for r in rows], np.float32)))
    return LineRecognizer(body, head)


def export_onnx(model: LineRecognizer, path: Path, metadata: dict[str, str]) -> None:
    """Write the model (probabilities out, dynamic batch and width) with ``metadata`` in the ONNX file."""
    import onnx

    wrapped = WithSoftmax(model).eval()
    example = torch.zeros(1, 3, 48, 320)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (example,),
            str(path),
            input_names=["x"],
            output_names=["probabilities"],
            dynamic_axes={"x": {0: "batch", 3: "width"}, "probabilities": {0: "batch", 1: "steps"}},
            opset_version=17,
            dynamo=False,
        )
    exported = onnx.load(str(path))
    for key, value in metadata.items():
        prop = exported.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(exported)
    onnx.save(exported, str(path))
