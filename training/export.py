"""ONNX export of the trained CNN, the onnxruntime predictor used to measure what ships, file digests."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from training.evaluate import Predictor
from training.model import WithSoftmax

INPUT_NAME = "glyphs"
OUTPUT_NAME = "probabilities"
OPSET = 17


def export_onnx(model: nn.Module, path: Path) -> None:
    """Write ``model`` (logits) as an ONNX graph that outputs probabilities, with a dynamic batch."""
    wrapped = WithSoftmax(model).eval().to(memory_format=torch.contiguous_format)
    example = torch.zeros(2, 1, 28, 28)
    # The TorchScript exporter on purpose: the dynamo one needs onnxscript, which nothing else uses.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _export(wrapped, example, path)
    import onnx

    onnx.checker.check_model(str(path))


def _export(wrapped: nn.Module, example: torch.Tensor, path: Path) -> None:
    torch.onnx.export(
        wrapped,
        (example,),
        str(path),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )


def onnx_predictor(path: Path, threads: int = 1) -> Predictor:
    """A function from uint8 ``(N, 28, 28)`` glyphs to probabilities, through onnxruntime."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def predict(images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        batch = (images.astype(np.float32) / 255.0)[:, None, :, :]
        return np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0], dtype=np.float32)

    return predict


def torch_predictor(model: nn.Module) -> Predictor:
    """The same function through the torch model (channels_last, no gradients)."""

    def predict(images: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        batch = torch.from_numpy(images).float().div_(255.0).unsqueeze(1)
        with torch.inference_mode():
            logits = model.eval()(batch.contiguous(memory_format=torch.channels_last))
        return torch.softmax(logits, dim=1).numpy().astype(np.float32)

    return predict
