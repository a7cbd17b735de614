"""A stack of a test's own, for tests that stop or kill parts of it: a redis-server on a free port with its
append-only file in a temporary folder (restartable on the same port and data), Celery workers and gunicorn
started the way `make run` starts them (``ocr worker``, ``ocr serve``), all pointed at that Redis.

The shared Redis of the other integration tests is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from tests.integration.conftest import LIMITS, ROOT, WorkerProcess, _free_port, _wait_for_worker, service_env


@dataclass
class RedisServer:
    """Debian's redis-server on ``port``, AOF on (``appendfsync everysec``), data in ``directory``."""

    directory: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=1)

    def start(self, timeout: float = 30) -> None:
        """Start it (again: same port, same AOF) and wait until it answers, its AOF loaded."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            # Keep every write in the AOF's incremental file (no rewrite folds it into a snapshot), so a
            # test can read back every command Redis applied: see :meth:`commands`.
            "--auto-aof-rewrite-percentage",
            "0",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        self.process = subprocess.Popen(command, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:  # refused, or LOADING the AOF
                time.sleep(0.05)
            if self.process.poll() is not None:
                break
        raise RuntimeError(f"redis-server did not start:\n{(self.directory / 'redis.log').read_text()[-2000:]}")

    def shutdown(self, timeout: float = 30) -> None:
        """SHUTDOWN: Redis writes and fsyncs its AOF, closes every connection and exits."""
        assert self.process is not None
        with contextlib.suppress(redis.ConnectionError):
            self.client().shutdown()
        self.process.wait(timeout=timeout)

    def commands(self) -> Iterator[list[bytes]]:
        """Every write command in the AOF, in order, across restarts (RESP arrays of the incr files)."""
        folder = self.directory / "appendonlydir"
        manifest = (folder / "appendonly.aof.manifest").read_text().split("\n")
        files = [line.split()[1] for line in manifest if line.split()[-1:] == ["i"]]
        for name in files:
            data = (folder / name).read_bytes()
            at = 0
            while at < len(data):
                end = data.index(b"\r\n", at)
                count, at = int(data[at + 1 : end]), end + 2
                command = []
                for _ in range(count):
                    end = data.index(b"\r\n", at)
                    length, at = int(data[at + 1 : end]), end + 2
                    command.append(data[at : at + length])
                    at += length + 2
                yield command

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class OwnStack:
    """Workers and an API pointed at ``redis`` with the engines ``engines`` (and nothing else)."""

    redis: RedisServer
    engines: list[str]
    logs: Path
    workers: list[WorkerProcess] = field(default_factory=list)
    api: subprocess.Popen[bytes] | None = None
    api_url: str = ""

    def env(self) -> dict[str, str]:
        env = {
            **service_env(),
            "OCR_REDIS_URL": self.redis.url,
            "OCR_ENGINES": ",".join(self.engines),
            "OCR_ENGINE_PLUGINS": "{}",
            **LIMITS,
        }
        env.pop("OCR_BROKER_URL", None)
        env.pop("OCR_RESULT_BACKEND", None)
        return env

    def queues(self) -> list[str]:
        return [f"engine.{name}" for name in self.engines] + ["combine"]

    def start_worker(self, name: str, concurrency: int = 2) -> WorkerProcess:
        """``ocr worker`` for every queue of the stack, its metrics in a folder of its own (kept after a kill)."""
        log = self.logs / f"{name}.log"
        metrics_port = _free_port()
        env = {**self.env(), "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir(name))}
        command = [
            sys.executable,
            "-m",
            "app.cli",
            "worker",
            "--queues",
            ",".join(self.queues()),
            "--name",
            f"{name}@faults",
            "--concurrency",
            str(concurrency),
            "--metrics-port",
            str(metrics_port),
        ]
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        worker = WorkerProcess(name, process, log, metrics_port=metrics_port)
        self.workers.append(worker)
        _wait_for_worker(self.redis.client(), f"{name}@faults", worker)
        return worker

    def metrics_dir(self, name: str) -> Path:
        return self.logs / f"{name}.prom"

    def start_api(self, timeout: float = 60) -> str:
        """``ocr serve`` (gunicorn, 2 processes x 4 threads) on a free port; returns its URL."""
        port = _free_port()
        log = self.logs / "api.log"
        env = {**self.env(), "PROMETHEUS_MULTIPROC_DIR": str(self.logs / "api.prom")}
        command = [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
        ]
        self.api = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        self.api_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.api_url}/ready", timeout=2).status_code == 200:
                    return self.api_url
            except requests.RequestException:
                pass
            if self.api.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"the API did not get ready:\n{log.read_text()[-3000:]}")

    def worker_counter(self, name: str, metric: str, **labels: str) -> float:
        """A counter summed over a worker's processes, read from its metrics files (a killed worker's too)."""
        registry = CollectorRegistry()
        MultiProcessCollector(registry, str(self.metrics_dir(name)))
        total = 0.0
        for family in registry.collect():
            for sample in family.samples:
                if sample.name == f"{metric}_total" and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def stop(self) -> None:
        for worker in self.workers:
            if not worker.killed:
                worker.stop()
        if self.api is not None and self.api.poll() is None:
            os.killpg(self.api.pid, signal.SIGTERM)
            try:
                self.api.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.api.pid, signal.SIGKILL)
        self.redis.stop()


def job_writes(server: RedisServer) -> dict[str, list[dict[str, object]]]:
    """Every write of a final status to a job record, by job id, from the AOF: the fields written
    (JSON decoded), in order. A job finished once has exactly one."""
    writes: dict[str, list[dict[str, object]]] = {}
    for command in server.commands():
        if command[0].upper() != b"HSET" or not command[1].startswith(b"ocr:job:"):
            continue
        fields = {name.decode(): json.loads(value) for name, value in zip(command[2::2], command[3::2], strict=True)}
        if fields.get("status") in ("succeeded", "failed"):
            writes.setdefault(command[1].decode().removeprefix("ocr:job:"), []).append(fields)
    return writes


def job_fields(client: redis.Redis, job_ids: list[str], *names: str) -> dict[str, dict[str, object]]:
    """Some fields of many job records, read straight from Redis in one round trip (JSON decoded)."""
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(f"ocr:job:{job_id}", *names)
        rows = pipe.execute()
    return {
        job_id: {name: json.loads(value) if value is not None else None for name, value in zip(names, row, strict=True)}
        for job_id, row in zip(job_ids, rows, strict=True)
    }
