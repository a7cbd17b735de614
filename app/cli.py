"""The ``ocr`` command: serve the API, run a worker, submit an image, wait for readiness."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import requests

from app.keys_cli import keys
from config.settings import get_settings
from engines.registry import queue_for
from jobs.queues import COMBINE_QUEUE

DEFAULT_URL = "http://127.0.0.1:8000"
GUNICORN_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"


@click.group()
def main() -> None:
    """Multi-engine OCR job server."""


main.add_command(keys)


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
@click.option("--threads", default=8, show_default=True, help="threads per process (sync endpoints wait)")
def serve(bind: str, workers: int, threads: int) -> None:
    """Run the API under gunicorn."""
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--access-logfile",
        "-",
        "--config",
        str(GUNICORN_CONFIG),
        "app.wsgi:app",
    ]
    # The API requires keys when it listens beyond loopback (OCR_AUTH=auto): tell it where it listens.
    os.environ["OCR_API_BIND"] = bind
    os.execv(args[0], args)


@main.command()
@click.option("--queues", default=None, help="comma-separated queues (default: every enabled engine + combine)")
@click.option("--concurrency", default=2, show_default=True)
@click.option("--name", default="ocr@%h", show_default=True, help="node name (distinct per worker)")
@click.option("--metrics-port", type=int, default=None, help="port of this worker's /metrics (OCR_WORKER_METRICS_PORT)")
@click.option("--task-events", is_flag=True, help="send task events (for Flower's task pages)")
def worker(queues: str | None, concurrency: int, name: str, metrics_port: int | None, task_events: bool) -> None:
    """Run a Celery worker for the given queues."""
    selected = queues or ",".join([queue_for(e) for e in get_settings().engines] + [COMBINE_QUEUE])
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "--loglevel",
        "INFO",
        "-Q",
        selected,
        "--concurrency",
        str(concurrency),
        "--hostname",
        name,
        "--without-gossip",
        "--without-mingle",
        *(["--task-events"] if task_events else []),
    ]
    os.execve(args[0], args, worker_environment(name, metrics_port))


def worker_environment(name: str, metrics_port: int | None) -> dict[str, str]:
    """This environment plus the worker's metrics port and its own Prometheus multiprocess directory."""
    env = dict(os.environ)
    node = re.sub(r"[^A-Za-z0-9_.-]", "_", name.replace("%h", socket.gethostname()))
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(Path(tempfile.gettempdir()) / "ocr-metrics" / f"worker-{node}"))
    if metrics_port is not None:
        env["OCR_WORKER_METRICS_PORT"] = str(metrics_port)
    return env


@main.command("wait-ready")
@click.option("--url", default=DEFAULT_URL, show_default=True)
@click.option("--timeout", default=120.0, show_default=True)
def wait_ready(url: str, timeout: float) -> None:
    """Wait until /ready answers 200."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = requests.get(f"{url}/ready", timeout=2)
            if response.status_code == 200:
                click.echo("ready")
                return
            last = response.text.strip()
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(0.5)
    raise click.ClickException(f"not ready after {timeout}s: {last}")


@main.command()
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default=DEFAULT_URL, show_default=True)
@click.option("--mode", type=click.Choice(["auto", "char", "text", "line", "page"]), default="auto", show_default=True)
@click.option("--method", type=click.Choice(["weighted", "confidence", "majority"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="print the whole job as JSON")
@click.option("--timeout", default=60.0, show_default=True)
def submit(image: Path, url: str, mode: str, method: str | None, as_json: bool, timeout: float) -> None:
    """Submit IMAGE as a job, wait for it, print the text and every engine's vote."""
    form = {"mode": mode, **({"method": method} if method else {})}
    with image.open("rb") as handle:
        response = requests.post(f"{url}/v1/jobs", files={"image": handle}, data=form, headers=_auth(), timeout=30)
    if response.status_code != 202:
        raise click.ClickException(f"{response.status_code}: {response.text.strip()}")
    job = _poll(url + response.headers["Location"], timeout)
    if as_json:
        click.echo(json.dumps(job, indent=2))
    else:
        click.echo(format_job(job))
    if job["status"] != "succeeded":
        sys.exit(1)


def _poll(job_url: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = requests.get(job_url, headers=_auth(), timeout=10).json()
        if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def _auth() -> dict[str, str]:
    """The API key from OCR_API_KEY, when the API needs one."""
    key = os.environ.get("OCR_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def format_job(job: dict[str, Any]) -> str:
    """A human summary of a finished job: the answer, then every engine's vote (per line for pages)."""
    if job["status"] != "succeeded":
        return f"job {job['id']} {job['status']}: {job.get('error')}"
    result = job["result"]
    lines = [
        f"job {job['id']} ({result['mode']} mode, {result['method']} voting, "
        f"{result['processing_time_ms']} ms{', cached' if job.get('cached') else ''})",
        f"text: {result['text']!r}  confidence {result['confidence']:.3f}",
    ]
    if result["mode"] == "page":
        for number, line in enumerate(result["lines"], start=1):
            lines.append(f"line {number} {line['box']}: {line['text']!r}  confidence {line['confidence']:.3f}")
            for name, view in sorted(line["engines"].items()):
                lines.append(f"    {name:<12} {view['text']!r}  confidence {view['confidence']:.3f}")
    lines.append("votes:")
    for name, view in sorted(result["engines"].items()):
        if view.get("error"):
            lines.append(f"  {name:<12} failed: {view['error']['code']}: {view['error']['message']}")
        else:
            text = view["text"].replace("\n", " | ")
            lines.append(f"  {name:<12} {text!r}  confidence {view['confidence']:.3f}  {view['elapsed_ms']} ms")
    return "\n".join(lines)


@main.command("train-cnn")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="models/emnist_cnn/v1")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="../shared/data")
@click.option("--emnist-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--emnist-split", default="byclass", show_default=True)
@click.option("--synthetic-per-class", default=1000, show_default=True)
@click.option("--epochs", default=15, show_default=True)
@click.option("--batch-size", default=256, show_default=True)
@click.option("--lr", default=2e-3, show_default=True)
@click.option("--threads", default=1, show_default=True, help="torch CPU threads")
@click.option("--seed", default=1234, show_default=True)
@click.option("--no-progress", is_flag=True, help="no progress bars (for logs)")
def train_cnn(**options: Any) -> None:
    """Train the character CNN; writes model.onnx, checkpoint, metadata, plots and MODEL_CARD.md to --out."""
    from training.train import main as train_main  # torch is imported only here

    train_main(options, command=" ".join(["ocr", *sys.argv[1:]]))


def _register_evaluation_commands() -> None:
    from evaluation.commands import eval_command
    from evaluation.fit_command import calibrate_command

    main.add_command(eval_command)
    main.add_command(calibrate_command)


_register_evaluation_commands()


if __name__ == "__main__":
    main()
