"""`ocr eval` on a small generated manifest through the real running stack (gunicorn + workers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.samples import rendered_set
from tests.integration.conftest import ROOT, service_env

pytestmark = pytest.mark.integration


def test_ocr_eval_through_the_server_prints_the_table_and_writes_json(
    live_server: str, model_workers, tmp_path: Path
) -> None:
    rendered_set(tmp_path / "set", seed=3, chars=4, words=2, lines=2, pages=1)
    out = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "eval",
        str(tmp_path / "set" / "manifest.tsv"),
        "--url",
        live_server,
        "--engines",
        "tesseract,easyocr,paddleocr",
        "--json",
        str(out),
        "--plots",
        str(tmp_path / "plots"),
        "--no-progress",
    ]
    done = subprocess.run(command, cwd=ROOT, env=service_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for system in ("tesseract", "easyocr", "paddleocr", "vote:weighted", "vote:confidence", "vote:majority", "oracle"):
        assert system in done.stdout
    assert "ensemble gain on char_accuracy" in done.stdout
    report = json.loads(out.read_text())
    assert report["engines"] == ["easyocr", "paddleocr", "tesseract"]
    overall = report["overall"]
    assert overall["paddleocr"]["items"] == 9 and overall["paddleocr"]["char_items"] == 4
    assert 0.0 <= overall["vote:confidence"]["cer"] <= 1.0
    assert {p.name for p in (tmp_path / "plots").iterdir()} == {"accuracy.png", "reliability.png", "confusions.png"}
