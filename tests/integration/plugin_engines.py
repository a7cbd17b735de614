"""Engines loaded through the real plugin mechanism (OCR_ENGINE_PLUGINS) by integration tests.

``BrokenEngine`` raises like a crashing library would; ``SlowTesseract`` is the real Tesseract that
first waits, so a test can kill the worker while it holds the job; ``StubbornTesseract`` is the real
Tesseract, except that a batch holding an all-dark crop makes it ignore the soft time limit, as C code
that never returns to Python would, until the hard limit kills its process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded

from engines.base import CharResult, Crop, Engine, TextResult
from engines.tesseract import TesseractEngine


class BrokenEngine(Engine):
    """Raises on every call, as a third-party library with a bug would."""

    name = "broken"

    @property
    def model_version(self) -> str:
        return "broken-1"

    def recognize_chars(self, crops: Sequence[Crop], top_k: int = 5) -> list[CharResult]:
        raise RuntimeError("simulated crash inside the engine library")

    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        raise RuntimeError("simulated crash inside the engine library")


class SlowTesseract(TesseractEngine):
    """Real Tesseract, delayed by OCR_TEST_SLOW_SECONDS before each batch."""

    name = "slow_tesseract"

    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        time.sleep(float(os.environ.get("OCR_TEST_SLOW_SECONDS", "2")))
        return [
            TextResult(self.name, r.model_version, r.text, r.char_confidences, r.elapsed_ms)
            for r in super().recognize_text(crops)
        ]


class StubbornTesseract(TesseractEngine):
    """Real Tesseract; a batch with an all-dark crop ("poison") outlives the soft time limit."""

    name = "stubborn"

    def recognize_chars(self, crops: Sequence[Crop], top_k: int = 5) -> list[CharResult]:
        if any(float(np.mean(crop)) < 100 for crop in crops):  # mostly dark
            while True:
                try:
                    time.sleep(60)
                except SoftTimeLimitExceeded:
                    continue  # ignored: only the hard limit ends this
        return [
            CharResult(self.name, r.model_version, r.candidates, r.elapsed_ms)
            for r in super().recognize_chars(crops, top_k)
        ]
