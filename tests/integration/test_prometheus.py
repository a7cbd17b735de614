"""A real Prometheus scrapes the real API, worker and Flower; every Grafana panel's query returns data.

Prometheus runs with the jobs, rules and alerts of ``deploy/prometheus.yml``, its targets pointed at
this test session's processes and a one-second scrape interval.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.integration.conftest import ROOT, WorkerProcess, _free_port, render_png, service_env

pytestmark = pytest.mark.integration

DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "ocr-overview.json"
RATE_INTERVAL = "1m"  # what Grafana's $__rate_interval stands for in the panels' queries
API_SERIES = {
    "ocr_http_requests_total",
    "ocr_http_request_duration_seconds_bucket",
    "ocr_http_request_duration_seconds_count",
    "ocr_http_request_duration_seconds_sum",
    "ocr_jobs_submitted_total",
    "ocr_jobs_finished_total",
    "ocr_cache_lookups_total",
    "ocr_redis_up",
    "ocr_queue_messages",
    "ocr_queue_consumers",
    "ocr_workers_online",
    "ocr_engine_available",
}
WORKER_SERIES = {
    "ocr_jobs_finished_total",
    "ocr_job_duration_seconds_bucket",
    "ocr_engine_tasks_total",
    "ocr_engine_failures_total",
    "ocr_engine_duration_seconds_bucket",
    "ocr_ensemble_agreement_ratio_bucket",
    "ocr_ensemble_confidence_ratio_bucket",
}


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed (deploy/local/system-deps.sh test installs it)")
    return path


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def flower(main_worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Flower on this session's broker, as compose starts it."""
    port = _free_port()
    log = tmp_path_factory.mktemp("flower") / "flower.log"
    command = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "flower"]
    command += ["--address=127.0.0.1", f"--port={port}"]
    process = subprocess.Popen(command, cwd=ROOT, env=service_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthcheck", process, log)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(process)


def derived_config(targets: dict[str, str], rule_file: Path) -> dict[str, Any]:
    """deploy/prometheus.yml with its jobs pointed at ``targets`` (job -> host:port), scraping every second."""
    config: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(rule_file)]
    assert {job["job_name"] for job in config["scrape_configs"]} == set(targets)
    for job in config["scrape_configs"]:
        for discovery in ("dns_sd_configs", "static_configs"):
            job.pop(discovery, None)
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@pytest.fixture(scope="module")
def prometheus(
    live_server: str, main_worker: WorkerProcess, flower: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real Prometheus (Debian's package) scraping the API, the main worker and Flower."""
    binary, promtool = _require("prometheus"), _require("promtool")
    folder = tmp_path_factory.mktemp("prometheus")
    rules = folder / "prometheus-alerts.yml"
    shutil.copy(DEPLOY / "prometheus-alerts.yml", rules)
    targets = {
        "ocr-api": live_server.removeprefix("http://"),
        "ocr-worker": f"127.0.0.1:{main_worker.metrics_port}",
        "flower": flower,
    }
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump(derived_config(targets, rules)))
    check = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    port = _free_port()
    log = folder / "prometheus.log"
    command = [binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}"]
    command += [f"--web.listen-address=127.0.0.1:{port}"]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{url}/-/ready", process, log)
        yield url
    finally:
        _stop(process)


def query(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    """An instant query's result vector."""
    response = requests.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for_scrapes_after(prometheus_url: str, moment: float, timeout: float = 20) -> None:
    """Wait until every target was scraped (successfully) after ``moment`` (epoch seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # timestamp() of a plain selector is the scrape's time (of an expression, the evaluation's).
        scraped_at = [float(s["value"][1]) for s in query(prometheus_url, "timestamp(up)")]
        healthy = [float(s["value"][1]) == 1 for s in query(prometheus_url, "up")]
        if len(scraped_at) == 3 and min(scraped_at) > moment and all(healthy):
            return
        time.sleep(0.25)
    raise AssertionError(f"targets not all scraped after {moment}: {query(prometheus_url, 'up')}")


def run_jobs(api: str, cached_png: bytes) -> None:
    """One batch: a cacheable text job, a text job with a failing engine, a char job, a failed job, a 404."""
    submissions = [
        (cached_png, {"mode": "text", "engines": "tesseract"}),
        (render_png(f"metric {uuid.uuid4().hex[:4]}"), {"mode": "text", "engines": "tesseract,broken"}),
        (render_png("K", size=40), {"mode": "char", "engines": "tesseract", "cache": "false"}),
        (render_png("none"), {"mode": "text", "engines": "broken", "cache": "false"}),
    ]
    job_ids = []
    for png, form in submissions:
        response = requests.post(f"{api}/v1/jobs", files={"image": ("i.png", png)}, data=form, timeout=10)
        assert response.status_code == 202, response.text
        job_ids.append(response.json()["id"])
    for job_id in job_ids:
        deadline = time.monotonic() + 30
        while requests.get(f"{api}/v1/jobs/{job_id}", timeout=10).json()["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, f"job {job_id} did not finish"
            time.sleep(0.05)
    assert requests.get(f"{api}/v1/jobs/{uuid.uuid4().hex}", timeout=10).status_code == 404


@pytest.fixture(scope="module")
def scraped(prometheus: str, live_server: str) -> str:
    """Two batches of jobs, each followed by a scrape, so that every rate() has an increase to show."""
    cached_png = render_png(f"cached {uuid.uuid4().hex[:4]}")
    wait_for_scrapes_after(prometheus, time.time())
    for _ in range(2):
        run_jobs(live_server, cached_png)
        wait_for_scrapes_after(prometheus, time.time())
    return prometheus


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every target of every panel, with Grafana's interval filled in."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [
        (panel["title"], target["expr"].replace("$__rate_interval", RATE_INTERVAL))
        for panel in panels
        for target in panel.get("targets", [])
    ]


def test_every_target_is_up(scraped: str) -> None:
    targets = requests.get(f"{scraped}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    assert sorted((t["labels"]["job"], t["health"]) for t in targets) == [
        ("flower", "up"),
        ("ocr-api", "up"),
        ("ocr-worker", "up"),
    ], [t.get("lastError") for t in targets]


@pytest.mark.parametrize(("job", "expected"), [("ocr-api", API_SERIES), ("ocr-worker", WORKER_SERIES)])
def test_expected_series_exist(scraped: str, job: str, expected: set[str]) -> None:
    names = {s["metric"]["__name__"] for s in query(scraped, f'count by (__name__) ({{job="{job}"}})')}
    assert expected <= names, expected - names


def test_label_values_are_bounded(scraped: str, live_server: str) -> None:
    routes = {s["metric"]["route"] for s in query(scraped, "count by (route) (ocr_http_requests_total)")}
    assert "/v1/jobs/<job_id>" in routes and "/v1/jobs" in routes
    assert all(route.startswith("/") or route == "unmatched" for route in routes), routes
    assert not any(len(part) == 32 for route in routes for part in route.split("/")), routes  # no raw job ids
    reasons = {(s["metric"]["engine"], s["metric"]["reason"]) for s in query(scraped, "ocr_engine_failures_total")}
    assert ("broken", "failed") in reasons
    statuses = {s["metric"]["status"] for s in query(scraped, "ocr_jobs_finished_total")}
    assert statuses == {"succeeded", "failed"}


def test_cache_hits_and_job_outcomes_are_counted(scraped: str) -> None:
    hits = query(scraped, 'increase(ocr_cache_lookups_total{result="hit"}[1m])')
    assert float(hits[0]["value"][1]) > 0  # the second batch's identical job
    failed = query(scraped, 'sum(increase(ocr_jobs_finished_total{status="failed"}[1m]))')
    assert float(failed[0]["value"][1]) >= 1  # a job whose only engine failed


@pytest.mark.parametrize(("title", "expr"), dashboard_queries(), ids=[title for title, _ in dashboard_queries()])
def test_dashboard_query_returns_data(scraped: str, title: str, expr: str) -> None:
    values = [float(sample["value"][1]) for sample in query(scraped, expr)]
    assert values, f"{title}: no data for {expr}"
    assert any(math.isfinite(value) for value in values), f"{title}: only NaN/Inf for {expr}: {values}"


def test_alert_rules_load_and_evaluate(scraped: str) -> None:
    groups = requests.get(f"{scraped}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) >= 8
    assert all(rule["health"] == "ok" for rule in rules), [(r["name"], r.get("lastError")) for r in rules]


@pytest.mark.parametrize("service", ["api", "worker"])
def test_promtool_accepts_the_exposition(
    scraped: str, live_server: str, main_worker: WorkerProcess, service: str
) -> None:
    url = f"{live_server}/metrics" if service == "api" else f"http://127.0.0.1:{main_worker.metrics_port}/metrics"
    text = requests.get(url, timeout=10).text
    check = subprocess.run([_require("promtool"), "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
