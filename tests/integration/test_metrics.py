"""/metrics of the API and the workers: sums over every process, bounded labels, a fresh start each run."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import ROOT, WorkerProcess, _free_port, render_png, service_env, wait_job

pytestmark = pytest.mark.integration


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a text exposition (0 when it is absent)."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:{{(.*)}})? (\S+)", line)
        if match and dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or "")) == labels:
            return float(match.group(2))
    return 0.0


def pids_writing(folder: Path) -> set[str]:
    """Process ids that wrote samples into a Prometheus multiprocess directory."""
    return {re.sub(r"\D", "", path.stem) for path in folder.glob("*.db")}


def test_api_metrics_add_up_every_gunicorn_process(live_server: str) -> None:
    before = requests.get(f"{live_server}/metrics", timeout=10).text
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _: requests.get(f"{live_server}/health", timeout=10).status_code, range(60)))
    assert codes == [200] * 60
    after = requests.get(f"{live_server}/metrics", timeout=10).text
    labels = {"route": "/health", "method": "GET", "status": "200"}
    assert (
        sample(after, "ocr_http_requests_total", **labels) - sample(before, "ocr_http_requests_total", **labels) == 60
    )
    count = "ocr_http_request_duration_seconds_count"
    assert sample(after, count, **labels) - sample(before, count, **labels) == 60


def test_worker_metrics_add_up_every_pool_process(app_client, main_worker: WorkerProcess) -> None:
    url = f"http://127.0.0.1:{main_worker.metrics_port}/metrics"
    labels = {"engine": "tesseract", "outcome": "succeeded"}
    before = sample(requests.get(url, timeout=10).text, "ocr_engine_tasks_total", **labels)
    job_ids = []
    for index in range(12):  # a burst: both pool processes take tasks
        data = {"image": (io.BytesIO(render_png(f"burst {index}")), "b.png"), "mode": "text"}
        # Distinct options (top_k) keep the jobs from starting as one group: each is its own task.
        data |= {"engines": "tesseract", "cache": "false", "top_k": str(index % 12 + 1)}
        job_ids.append(app_client.post("/v1/jobs", data=data, content_type="multipart/form-data").get_json()["id"])
    for job_id in job_ids:
        assert wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), job_id)["status"] == "succeeded"
    text = requests.get(url, timeout=10).text
    assert sample(text, "ocr_engine_tasks_total", **labels) - before == 12
    folder = main_worker.log.with_suffix(".prom")  # the worker's PROMETHEUS_MULTIPROC_DIR (conftest)
    assert len(pids_writing(folder) - {str(main_worker.process.pid)}) >= 2, "expected samples from 2 pool processes"


def test_engine_failures_are_counted_by_reason(app_client, main_worker: WorkerProcess) -> None:
    url = f"http://127.0.0.1:{main_worker.metrics_port}/metrics"
    labels = {"engine": "broken", "reason": "failed"}
    before = sample(requests.get(url, timeout=10).text, "ocr_engine_failures_total", **labels)
    data = {"image": (io.BytesIO(render_png("fails")), "f.png"), "mode": "text", "engines": "tesseract,broken"}
    job_id = app_client.post("/v1/jobs", data=data, content_type="multipart/form-data").get_json()["id"]
    job = wait_job(lambda jid: app_client.get(f"/v1/jobs/{jid}").get_json(), job_id)
    assert [f["engine"] for f in job["result"]["failed_engines"]] == ["broken"]
    assert sample(requests.get(url, timeout=10).text, "ocr_engine_failures_total", **labels) - before == 1


def test_route_and_method_labels_are_bounded(app_client) -> None:
    app_client.get(f"/v1/jobs/{uuid.uuid4().hex}")
    app_client.open(f"/no/such/{uuid.uuid4().hex}", method="BREW")
    text = app_client.get("/metrics").get_data(as_text=True)
    routes = set(re.findall(r'ocr_http_requests_total\{[^}]*route="([^"]*)"', text))
    assert "/v1/jobs/<job_id>" in routes and "unmatched" in routes
    assert not re.search(r"[0-9a-f]{32}", text)  # no job id became a label value
    assert sample(text, "ocr_http_requests_total", route="unmatched", method="other", status="404") >= 1


def test_metrics_answer_when_redis_is_down() -> None:
    from app import create_app
    from tests.integration.conftest import make_settings

    client = create_app(make_settings(redis_url="redis://127.0.0.1:1/0")).test_client()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert sample(response.get_data(as_text=True), "ocr_redis_up") == 0


def _write_stale_samples(folder: Path) -> None:
    """Samples a previous run left behind: a restart must not add them to the new run's."""
    folder.mkdir(parents=True, exist_ok=True)
    code = (
        "from prometheus_client import Counter; "
        "Counter('ocr_http_requests_total', 'x', ['route', 'method', 'status']).labels('/stale', 'GET', '200').inc(7); "
        "Counter('ocr_engine_tasks_total', 'x', ['engine', 'outcome']).labels('stale', 'failed').inc(7)"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert list(folder.glob("counter_*.db"))


@pytest.fixture()
def cli_stack(main_worker: WorkerProcess, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`ocr serve` and `ocr worker` as `make run` starts them, each over a stale metrics directory."""
    api_port, metrics_port = _free_port(), _free_port()
    api_env = {**service_env(), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "api")}
    worker_env = {**service_env(), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker")}
    _write_stale_samples(tmp_path / "api")
    _write_stale_samples(tmp_path / "worker")
    cli = [sys.executable, "-m", "app.cli"]
    serve = [*cli, "serve", "--bind", f"127.0.0.1:{api_port}", "--workers", "2", "--threads", "2"]
    worker = [*cli, "worker", "--name", "cli@%h", "--queues", "combine", "--concurrency", "1"]
    commands = [(serve, api_env), ([*worker, "--metrics-port", str(metrics_port)], worker_env)]
    processes = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=(tmp_path / f"{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i, (command, env) in enumerate(commands)
    ]
    try:
        urls = (f"http://127.0.0.1:{api_port}/metrics", f"http://127.0.0.1:{metrics_port}/metrics")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if all(requests.get(url, timeout=1).status_code == 200 for url in urls):
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            logs = "\n".join((tmp_path / f"{i}.log").read_text()[-2000:] for i in range(2))
            raise RuntimeError(f"ocr serve / ocr worker did not serve /metrics:\n{logs}")
        yield urls
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=20)


def test_ocr_serve_and_worker_serve_fresh_metrics(cli_stack: tuple[str, str]) -> None:
    api_url, worker_url = cli_stack
    api_text = requests.get(api_url, timeout=10).text
    worker_text = requests.get(worker_url, timeout=10).text
    assert "ocr_redis_up 1.0" in api_text
    assert 'route="/stale"' not in api_text  # the directory was emptied when the server started
    assert 'engine="stale"' not in worker_text
    assert sample(worker_text, "ocr_jobs_finished_total", status="succeeded", mode="char") == 0  # initialised
