"""Engine names -> adapter classes, imported lazily so a worker imports only its own engines.

Built-in engines are listed here as ``"module:Class"`` paths; deployments can add their own with
``OCR_ENGINE_PLUGINS='{"name": "package.module:Class"}'``.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping

from engines.base import Engine

BUILTIN_ENGINES: Mapping[str, str] = {
    "tesseract": "engines.tesseract:TesseractEngine",
    "easyocr": "engines.easyocr:EasyOcrEngine",
    "paddleocr": "engines.paddleocr:PaddleOcrEngine",
    "emnist_cnn": "engines.emnist_cnn:EmnistCnnEngine",
    "trocr": "engines.trocr:TrOcrEngine",
    "line_reader": "engines.line_reader:LineReaderEngine",
}


class UnknownEngine(KeyError):
    """An engine name that is neither built in nor a configured plugin."""

    def __str__(self) -> str:
        return str(self.args[0])


def engine_paths(plugins: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every known engine name with its ``module:Class`` path; plugins override built-ins."""
    return {**BUILTIN_ENGINES, **(plugins or {})}


def check_engine_names(names: list[str], plugins: Mapping[str, str] | None = None) -> None:
    """Raise :class:`UnknownEngine` (with a spelling hint) for any name that is not known."""
    known = engine_paths(plugins)
    for name in names:
        if name not in known:
            hint = difflib.get_close_matches(name, list(known), n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise UnknownEngine(f"unknown engine {name!r}{suggestion} (known: {sorted(known)})")


def load_engine_class(name: str, plugins: Mapping[str, str] | None = None) -> type[Engine]:
    """Import and return the adapter class for ``name``."""
    check_engine_names([name], plugins)
    module_name, _, class_name = engine_paths(plugins)[name].partition(":")
    engine_class = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(engine_class, type) and issubclass(engine_class, Engine)):
        raise TypeError(f"{module_name}:{class_name} is not an engines.base.Engine subclass")
    return engine_class


def queue_for(engine_name: str) -> str:
    """The Celery queue that carries ``engine_name``'s tasks."""
    return f"engine.{engine_name}"
