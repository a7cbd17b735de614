"""Model files: digests that version the weights, the check that they are genuine, and the CPU session.

Shared by the adapters that load their own ONNX model folders (the character CNN, the line recognizer).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engines.base import EngineUnavailable


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks (weights can be hundreds of MB)."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked_digest(path: Path, stated: Iterable[tuple[str, str]]) -> str:
    """The file's sha256, once it matches every ``(sha256, where it is stated)`` that is set."""
    actual = file_digest(path)
    for wanted, source in stated:
        if wanted and actual != wanted:
            raise EngineUnavailable(f"{path} sha256 {actual} does not match {wanted} from {source}")
    return actual


def cpu_session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session with ``threads`` intra-op threads, one inter-op, sequential."""
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineUnavailable(f"onnxruntime is not installed ({exc}); pip install onnxruntime") from exc
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors on bad files
        raise EngineUnavailable(f"onnxruntime cannot load {path}: {exc}") from exc
