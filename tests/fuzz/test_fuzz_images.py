"""Run the atheris fuzz target (``fuzz_images.py``) for a bounded time, seeded with the hostile corpus; any
exception other than InvalidDocument or InvalidImage (a 500 in the API), a hang or a crash fails the test with the input
that did it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.hostile.corpus import files

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(__file__).with_name("fuzz_images.py")
FUZZ_SECONDS = 30
# Seeds above this are left out (libFuzzer mutates every input up to the longest): the bombs and limits
# they stand for are sent whole by tests/integration/test_hostile.py.
MAX_SEED_BYTES = 100_000


def test_image_and_document_decoding_survive_fuzzing(tmp_path: Path) -> None:
    corpus, artifacts = tmp_path / "corpus", tmp_path / "artifacts"
    corpus.mkdir()
    artifacts.mkdir()
    for name, data in files().items():
        if data and len(data) <= MAX_SEED_BYTES:
            (corpus / name).write_bytes(data)
    command = [
        sys.executable,
        str(TARGET),
        str(corpus),
        f"-max_total_time={FUZZ_SECONDS}",
        f"-max_len={MAX_SEED_BYTES}",
        "-timeout=10",  # one input taking longer is a finding (a hang)
        "-rss_limit_mb=3072",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=FUZZ_SECONDS + 120)
    output = run.stdout + run.stderr
    uncaught = output.find("Uncaught Python exception")
    output = output[uncaught - 10 : uncaught + 6000] if uncaught >= 0 else output[-6000:]
    found = sorted(path.name for path in artifacts.iterdir())
    assert run.returncode == 0 and not found, f"fuzzing found {found} (exit {run.returncode}):\n{output}"
    assert "Done" in output and "stat::number_of_executed_units" in output, output
