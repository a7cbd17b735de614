"""Static checks of the deployment files: Dockerfile, compose, Prometheus, Grafana, Kubernetes.

Docker cannot run here, so the files are checked with the tools that validate them offline:
hadolint, docker-compose config, promtool and kubernetes-validate (a missing tool fails under CI,
where deploy/local/system-deps.sh test installs it, and skips elsewhere).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from engines.registry import queue_for
from workers.celery_app import COMBINE_QUEUE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "ocr-overview.json"
GPU_ENGINES = {"easyocr", "trocr"}


def tool(name: str) -> str:
    """The path of a validation tool: its absence fails under CI and skips elsewhere."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        message = f"{name} is not installed (deploy/local/system-deps.sh test, requirements-dev.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a validator in the repository root."""
    return subprocess.run(command, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120)


def compose_config(*options: str) -> dict[str, Any]:
    """The compose file as docker-compose resolves it (variables, anchors, profiles)."""
    result = run(tool("docker-compose"), *options, "config")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def served_queues(service: dict[str, Any]) -> set[str]:
    """The queues a compose worker service consumes (its ``--queues`` argument)."""
    command: list[str] = service["command"]
    return set(command[command.index("--queues") + 1].split(","))


def enabled_queues(service: dict[str, Any]) -> set[str]:
    """The queues a worker may consume: a worker refuses queues of engines that are not enabled."""
    return {queue_for(engine) for engine in service["environment"]["OCR_ENGINES"].split(",")} | {COMBINE_QUEUE}


def dashboard_exprs() -> list[str]:
    """The PromQL of every target of every panel."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


# Dockerfile


def test_hadolint_finds_nothing() -> None:
    result = run(tool("hadolint"), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base.group(1))
    stages = re.findall(r"^FROM \S+ AS (\w+)$", text, re.MULTILINE)
    assert stages == ["build", "runtime", "worker", "api"]
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert "tesseract-ocr=" in text and "tesseract-ocr-eng=" in text
    assert "pip install --no-cache-dir -r /tmp/requirements-production.txt" in text
    for stage in ("worker", "api"):
        body = text.split(f" AS {stage}\n", 1)[1].split("\nFROM ", 1)[0]
        assert "HEALTHCHECK" in body and "CMD [" in body, stage


def test_dockerignore_keeps_what_the_image_runs() -> None:
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    needed = ["app", "workers", "engines", "ensemble", "config", "models", "training", "requirements-production.txt"]
    assert not ignored & {*needed, "deploy", "deploy/gunicorn.conf.py"}
    assert {".git", ".venv", "tests"} <= ignored


# docker-compose


def test_compose_config_is_valid_with_every_service() -> None:
    services = compose_config()["services"]
    expected = {"redis", "api", "worker-cpu", "worker-gpu", "flower", "prometheus", "grafana"}
    assert set(services) == expected
    for name, service in services.items():
        assert "healthcheck" in service, name
    assert services["redis"]["command"][-4:] == ["--appendonly", "yes", "--appendfsync", "everysec"]
    assert services["worker-cpu"]["deploy"]["replicas"] >= 2
    assert served_queues(services["worker-cpu"]) == enabled_queues(services["worker-cpu"])  # CPU only: all
    assert services["worker-gpu"]["profiles"] == ["gpu"]


def test_gpu_worker_serves_only_gpu_queues_on_a_reserved_device() -> None:
    config = compose_config("--env-file", "deploy/compose/gpu.env", "--profile", "gpu")
    gpu, cpu = config["services"]["worker-gpu"], config["services"]["worker-cpu"]
    assert served_queues(gpu) == {queue_for(engine) for engine in GPU_ENGINES}
    assert gpu["deploy"]["resources"]["reservations"]["devices"] == [
        {"capabilities": ["gpu"], "count": 1, "driver": "nvidia"}
    ]
    assert not served_queues(cpu) & served_queues(gpu)
    assert served_queues(cpu) | served_queues(gpu) == enabled_queues(cpu) == enabled_queues(gpu)


def test_compose_mounts_exist_and_grafana_is_provisioned() -> None:
    services = compose_config()["services"]
    volumes = [volume.split(":") for name in ("prometheus", "grafana") for volume in services[name]["volumes"]]
    mounts = {target: Path(source) for source, target, *_ in volumes if source.startswith("/")}  # bind mounts
    assert len(mounts) == 4
    for target, source in mounts.items():
        assert source.exists(), (target, source)
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/ocr.yml").read_text())
    assert mounts[provider["providers"][0]["options"]["path"]] == DASHBOARD.parent


# Prometheus


def test_promtool_checks_config_and_rules() -> None:
    result = run(tool("promtool"), "check", "config", "deploy/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_scrape_jobs_match_what_dashboard_and_alerts_select() -> None:
    jobs = {job["job_name"] for job in yaml.safe_load((DEPLOY / "prometheus.yml").read_text())["scrape_configs"]}
    selected = set()
    for text in [*dashboard_exprs(), (DEPLOY / "prometheus-alerts.yml").read_text()]:
        for pattern in re.findall(r'job=~"([^"]+)"', text):
            selected |= set(pattern.split("|"))
    assert selected and selected <= jobs


# Grafana


def test_dashboard_panels_are_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    datasource = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == uid and panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid and target["expr"].strip(), panel["title"]
    titles = " ".join(panel["title"].lower() for panel in panels)
    for topic in ("throughput", "latency", "engine", "failure", "agreement", "queue depth", "cache hit"):
        assert topic in titles, topic


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses a rule file's expressions: one recording rule per panel query.
    rules = [
        {"record": f"dashboard:query_{index}", "expr": expr.replace("$__rate_interval", "1m")}
        for index, expr in enumerate(dashboard_exprs())
    ]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run(tool("promtool"), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


# Kubernetes


def k8s_documents() -> list[dict[str, Any]]:
    """Every resource in the manifests that kustomization.yaml lists."""
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    return [doc for name in listed for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_kubernetes_manifests_validate_offline() -> None:
    manifests = sorted(str(path) for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")
    result = run(tool("kubernetes-validate"), "--strict", "--quiet", *manifests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_workers_are_distinct_nodes_on_declared_queues() -> None:
    deployments = {doc["metadata"]["name"]: doc for doc in k8s_documents() if doc["kind"] == "Deployment"}
    for name in ("worker-cpu", "worker-gpu"):
        pod = deployments[name]["spec"]["template"]["spec"]
        args = pod["containers"][0]["args"]
        assert args[args.index("--name") + 1].endswith("@%h"), name  # %h: the pod name, one node per replica
        assert pod["securityContext"]["runAsNonRoot"] is True
    gpu = deployments["worker-gpu"]["spec"]["template"]["spec"]["containers"][0]
    assert set(gpu["args"][gpu["args"].index("--queues") + 1].split(",")) == {queue_for(e) for e in GPU_ENGINES}
    assert gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
