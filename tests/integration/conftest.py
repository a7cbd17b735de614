"""Real services for integration tests: Redis (a separate database), Celery worker processes, gunicorn."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests
from PIL import Image, ImageDraw, ImageFont

from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# Debian's Chromium for the browser tests, headless and offline.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REDIS_URL = os.environ.get("OCR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PLUGINS = {
    "broken": "tests.integration.plugin_engines:BrokenEngine",
    "slow_tesseract": "tests.integration.plugin_engines:SlowTesseract",
    "stubborn": "tests.integration.plugin_engines:StubbornTesseract",
}
ENGINES = ["tesseract", "easyocr", "paddleocr", "line_reader", "trocr", "broken", "slow_tesseract", "stubborn"]
# Short limits so a killed worker's job is redelivered within seconds (visibility timeout).
LIMITS = {
    "OCR_TASK_SOFT_TIME_LIMIT_S": "4",
    "OCR_TASK_TIME_LIMIT_S": "5",
    "OCR_VISIBILITY_TIMEOUT_S": "6",
    "OCR_UNACKED_RESTORE_INTERVAL_S": "1",
    # A job whose chord died is started again after this long (production: 600 s).
    "OCR_STALL_TIMEOUT_S": "30",
    "OCR_SWEEP_INTERVAL_S": "2",
    # Completion webhooks go to receivers the tests run on 127.0.0.1, retried quickly.
    "OCR_WEBHOOK_ALLOW": "127.0.0.1",
    "OCR_WEBHOOK_FIRST_RETRY_S": "0.2",
}

pytestmark = pytest.mark.integration


def service_env() -> dict[str, str]:
    """Environment for every process the tests start: same Redis, engines and limits."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OCR_REDIS_URL": REDIS_URL,
        "OCR_ENGINES": ",".join(ENGINES),
        "OCR_ENGINE_PLUGINS": json.dumps(PLUGINS),
        "OCR_WORKER_STALE_AFTER_S": "6",
        **LIMITS,
    }


def make_settings(**overrides: object) -> Settings:
    """Settings for an in-process app talking to the same Redis and queues as the workers."""
    values: dict[str, object] = {
        "redis_url": REDIS_URL,
        "engines": ENGINES,
        "engine_plugins": PLUGINS,
        "task_soft_time_limit_s": 4,
        "task_time_limit_s": 5,
        "visibility_timeout_s": 6,
        "sync_timeout_s": 30,
        "webhook_allow": ["127.0.0.1"],
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def render_png(text: str, size: int = 36, pad: int = 12, invert: bool = False) -> bytes:
    """A PNG of ``text`` in DejaVu Sans, black on white (or white on black)."""
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(text)
    ink, paper = (255, 0) if invert else (0, 255)
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), paper)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=ink)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def draw_page(lines: list[str], size: int = 30) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """A printed page 900 px wide (DejaVu Sans) and the ink box of each line as drawn."""
    font = ImageFont.truetype(FONT, size)
    page = Image.new("L", (900, 120 + 70 * len(lines)), 255)
    draw = ImageDraw.Draw(page)
    boxes = []
    for row, text in enumerate(lines):
        origin = (60, 60 + 70 * row)
        draw.text(origin, text, font=font, fill=0)
        left, top, right, bottom = (int(v) for v in draw.textbbox(origin, text, font=font))
        boxes.append((left, top, right, bottom))
    return page, boxes


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"integration tests need Redis at {REDIS_URL} (make test starts one): {exc}")
    client.flushdb()
    yield client
    client.flushdb()


@dataclass
class WorkerProcess:
    """A real Celery worker started by a test."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    killed: bool = field(default=False)
    metrics_port: int = field(default=0)

    def kill_hard(self) -> None:
        """SIGKILL the worker and its pool children at once, as an OOM killer or a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.killed = True

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@pytest.fixture(scope="session")
def start_worker(
    redis_client: redis.Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []
    logs = tmp_path_factory.mktemp("workers")

    def start(name: str, queues: list[str], concurrency: int = 1, env: dict[str, str] | None = None) -> WorkerProcess:
        log = logs / f"{name}.log"
        metrics_port = _free_port()
        metrics = {"OCR_WORKER_METRICS_PORT": str(metrics_port), "PROMETHEUS_MULTIPROC_DIR": str(logs / f"{name}.prom")}
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "--loglevel",
            "INFO",
            "-Q",
            ",".join(queues),
            "--hostname",
            f"{name}@test",
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
        ]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**service_env(), **metrics, **(env or {})},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = WorkerProcess(name, process, log, metrics_port=metrics_port)
        started.append(worker)
        _wait_for_worker(redis_client, f"{name}@test", worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _wait_for_worker(client: redis.Redis, hostname: str, worker: WorkerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.hexists("ocr:workers", hostname):
            return
        if worker.process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"worker {hostname} did not come up:\n{worker.log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def main_worker(start_worker: Callable[..., WorkerProcess]) -> WorkerProcess:
    """One worker serving tesseract, the broken engine and combine (two pool processes)."""
    return start_worker("main", ["engine.tesseract", "engine.broken", "combine"], concurrency=2)


@pytest.fixture(scope="session")
def model_workers(start_worker: Callable[..., WorkerProcess], main_worker: WorkerProcess) -> list[WorkerProcess]:
    """One worker per model engine (EasyOCR, PaddleOCR), as `make run` lays them out."""
    return [start_worker(name, [f"engine.{name}"]) for name in ("paddleocr", "easyocr")]


@pytest.fixture(scope="session")
def line_reader_worker(start_worker: Callable[..., WorkerProcess], main_worker: WorkerProcess) -> WorkerProcess:
    """A worker that owns our line recognizer's queue, with the shipped model."""
    return start_worker("line_reader", ["engine.line_reader"])


@pytest.fixture(scope="session")
def tiny_trocr_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny TrOCR checkpoint trained on a few strings (no TrOCR model ships; users bring their own)."""
    from tests.tiny_trocr import train_tiny

    return train_tiny(tmp_path_factory.mktemp("trocr") / "tiny")


@pytest.fixture(scope="session")
def trocr_worker(
    start_worker: Callable[..., WorkerProcess], main_worker: WorkerProcess, tiny_trocr_dir: Path
) -> WorkerProcess:
    """A worker that owns the TrOCR queue, as a GPU worker would (here on CPU, a checkpoint the user gives)."""
    return start_worker("trocr", ["engine.trocr"], env={"HF_HUB_OFFLINE": "1", "OCR_TROCR_MODEL": str(tiny_trocr_dir)})


@pytest.fixture(scope="session")
def app_client(main_worker: WorkerProcess):
    from app import create_app

    app = create_app(make_settings())
    app.config["TESTING"] = True
    return app.test_client()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(folder: Path, env: dict[str, str]) -> Iterator[str]:
    """The real API under gunicorn (gthread workers, ``deploy/gunicorn.conf.py``), as `make run` starts it,
    on a free port with ``env``; yields its URL once /health answers, stops it afterwards."""
    port = _free_port()
    log = folder / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"]
    command += ["--worker-class", "gthread", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), "app.wsgi:app"]
    env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(folder / "prom")}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def live_server(main_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real API under gunicorn, as `make run` starts it."""
    with gunicorn(tmp_path_factory.mktemp("api"), service_env()) as url:
        yield url


def wait_job(get: Callable[[str], dict], job_id: str, timeout: float = 30) -> dict:
    """Poll a job until it finishes (``get`` maps a job id to its JSON)."""
    deadline = time.monotonic() + timeout
    while True:
        job = get(job_id)
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)
