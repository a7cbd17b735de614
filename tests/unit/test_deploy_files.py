"""Static checks of the deployment files: Dockerfile, compose, Prometheus, Grafana, Kubernetes.

Docker cannot run here, so the files are checked with the tools that validate them offline:
hadolint, docker-compose config, promtool and kubernetes-validate (a missing tool fails under CI,
where deploy/local/system-deps.sh test installs it, and skips elsewhere). The security checks read the
resolved files: what is published where, who authenticates, and that no secret is committed.
"""

from __future__ import annotations

import ipaddress
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
from flower.options import default_options

from config.settings import Settings
from engines.registry import queue_for
from jobs.queues import COMBINE_QUEUE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "ocr-overview.json"
GPU_ENGINES = {"easyocr"}
COMPOSE_FILE = ROOT / "docker-compose.yml"
EXAMPLE_ENV = DEPLOY / "compose" / "example.env"
# What an operator puts in .env (deploy/compose/example.env): compose refuses to start without them.
COMPOSE_SECRETS = {
    "REDIS_PASSWORD": "0123abcd-redis",
    "FLOWER_USER": "ops",
    "FLOWER_PASSWORD": "4567ef-flower",
    "GRAFANA_ADMIN_PASSWORD": "89ab-grafana",
}
REDIS_URL_IN_K8S = "redis://:$(REDIS_PASSWORD)@redis:6379/0"


def tool(name: str) -> str:
    """The path of a validation tool: its absence fails under CI and skips elsewhere."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        message = f"{name} is not installed (deploy/local/system-deps.sh test, requirements-dev.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*command: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a validator in the repository root."""
    return subprocess.run(command, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120, env=env)


def compose_variables() -> set[str]:
    """Every variable docker-compose.yml interpolates."""
    return set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))


def required_compose_variables() -> set[str]:
    """The variables compose refuses to run without (``${NAME:?message}``)."""
    return set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE_FILE.read_text()))


def run_compose_config(
    *options: str, secrets: dict[str, str], env_file: Path = EXAMPLE_ENV
) -> subprocess.CompletedProcess[str]:
    """``docker-compose config`` as an operator runs it: ``env_file`` in place of .env, ``secrets`` in the
    shell environment, and nothing else of this process's environment that the compose file reads."""
    env = {name: value for name, value in os.environ.items() if name not in compose_variables()}
    env.update(secrets)
    return run(tool("docker-compose"), "--env-file", str(env_file), *options, "config", env=env)


def compose_config(
    *options: str, env_file: Path = EXAMPLE_ENV, secrets: dict[str, str] = COMPOSE_SECRETS
) -> dict[str, Any]:
    """The compose file as docker-compose resolves it (variables, anchors, profiles)."""
    result = run_compose_config(*options, secrets=secrets, env_file=env_file)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def published_ports(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host address, host port) of each port a service publishes; "" is every interface. Reads both
    docker-compose 1.x's output (short strings, or mappings without host_ip) and Compose v2's."""
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append((str(port.get("host_ip", "")), str(port.get("published", ""))))
            continue
        parts = str(port).split("/")[0].rsplit(":", 2)
        host = parts[0] if len(parts) == 3 else ""
        ports.append((host.strip("[]"), parts[-2] if len(parts) > 1 else ""))
    return ports


def command_arg(command: list[str], flag: str) -> str:
    """The value after ``flag`` in a command line."""
    return command[command.index(flag) + 1]


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
    assert command_arg(services["redis"]["command"], "--requirepass") == COMPOSE_SECRETS["REDIS_PASSWORD"]
    assert services["worker-cpu"]["deploy"]["replicas"] >= 2
    assert served_queues(services["worker-cpu"]) == enabled_queues(services["worker-cpu"])  # CPU only: all
    assert services["worker-gpu"]["profiles"] == ["gpu"]


def test_gpu_worker_serves_only_gpu_queues_on_a_reserved_device() -> None:
    # As in the README: deploy/compose/gpu.env appended to .env (here: its values, the secrets in the shell).
    config = compose_config("--profile", "gpu", env_file=DEPLOY / "compose" / "gpu.env")
    gpu, cpu = config["services"]["worker-gpu"], config["services"]["worker-cpu"]
    assert served_queues(gpu) == {queue_for(engine) for engine in GPU_ENGINES}
    assert gpu["deploy"]["resources"]["reservations"]["devices"] == [
        {"capabilities": ["gpu"], "count": 1, "driver": "nvidia"}
    ]
    assert not served_queues(cpu) & served_queues(gpu)
    assert served_queues(cpu) | served_queues(gpu) == enabled_queues(cpu) == enabled_queues(gpu)


@pytest.mark.parametrize("missing", sorted(COMPOSE_SECRETS))
def test_compose_refuses_to_run_without_each_secret(missing: str, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"{missing}=\n")
    secrets = {name: value for name, value in COMPOSE_SECRETS.items() if name != missing}
    result = run_compose_config(secrets=secrets, env_file=tmp_path / ".env")
    assert result.returncode != 0
    assert f"{missing} is required" in result.stderr and "example.env" in result.stderr, result.stderr


def test_compose_refuses_example_env_copied_unedited() -> None:
    result = run_compose_config(secrets={})
    assert result.returncode != 0
    assert re.search(r"(REDIS_PASSWORD|FLOWER_PASSWORD|GRAFANA_ADMIN_PASSWORD) is required", result.stderr)


def test_example_env_lists_every_variable_with_the_secrets_left_empty() -> None:
    assert required_compose_variables() == set(COMPOSE_SECRETS)
    text = EXAMPLE_ENV.read_text()
    listed = dict(re.findall(r"^#?([A-Z0-9_]+)=(.*)$", text, re.MULTILINE))
    assert compose_variables() <= set(listed), compose_variables() - set(listed)
    for name in ("REDIS_PASSWORD", "FLOWER_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert re.search(rf"^{name}=$", text, re.MULTILINE), name  # set, empty: compose stops until filled
    assert "openssl rand -hex 24" in text
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_compose_publishes_nothing_unauthenticated_on_all_interfaces() -> None:
    services = compose_config("--profile", "gpu")["services"]
    for name, service in services.items():
        assert service.get("network_mode") != "host", name
        for host, port in published_ports(service):
            # Only the API, which requires API keys, listens on every interface; the rest on loopback.
            assert host == "127.0.0.1" or name == "api", (name, host, port)
    published = {name for name, service in services.items() if published_ports(service)}
    assert published == {"api", "flower", "prometheus", "grafana"}  # not Redis, not the workers' metrics
    api = services["api"]
    assert published_ports(api) == [("", "8000")]
    bind = command_arg(api["command"], "--bind")
    auth = api["environment"].get("OCR_AUTH", "auto")
    assert Settings.model_construct(auth=auth, api_bind=bind).auth_required, (auth, bind)


def test_compose_opens_a_dashboard_to_more_than_loopback_only_when_asked() -> None:
    secrets = {**COMPOSE_SECRETS, "FLOWER_PUBLISH": "0.0.0.0"}
    services = compose_config(secrets=secrets)["services"]
    assert published_ports(services["flower"]) == [("0.0.0.0", "5555")]
    assert published_ports(services["grafana"]) == [("127.0.0.1", "3000")]


def test_compose_redis_needs_its_password_and_every_client_sends_it() -> None:
    services = compose_config("--profile", "gpu")["services"]
    password = COMPOSE_SECRETS["REDIS_PASSWORD"]
    redis = services["redis"]
    assert command_arg(redis["command"], "--requirepass") == password
    assert command_arg(redis["command"], "--appendonly") == "yes"
    assert not published_ports(redis)
    assert redis["environment"]["REDISCLI_AUTH"] == password  # the health check authenticates
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    clients = {name for name, service in services.items() if "OCR_REDIS_URL" in service.get("environment", {})}
    assert clients == {"api", "worker-cpu", "worker-gpu", "flower"}
    for name in clients:
        assert services[name]["environment"]["OCR_REDIS_URL"] == f"redis://:{password}@redis:6379/0", name


def test_compose_flower_and_grafana_require_a_login() -> None:
    services = compose_config()["services"]
    flower = services["flower"]
    credentials = f"{COMPOSE_SECRETS['FLOWER_USER']}:{COMPOSE_SECRETS['FLOWER_PASSWORD']}"
    # Flower takes every option from FLOWER_<OPTION>: --basic-auth from FLOWER_BASIC_AUTH.
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == credentials
    assert not any(COMPOSE_SECRETS["FLOWER_PASSWORD"] in arg for arg in flower["command"])  # not in `ps`
    assert "basic_auth" in default_options
    grafana = services["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == COMPOSE_SECRETS["GRAFANA_ADMIN_PASSWORD"]
    assert "GRAFANA_ADMIN_PASSWORD:-" not in COMPOSE_FILE.read_text()  # no default password
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert grafana["GF_USERS_ALLOW_SIGN_UP"] == "false"


def test_compose_only_prometheus_reads_the_api_metrics_without_a_key() -> None:
    config = compose_config()
    services = config["services"]
    address = services["prometheus"]["networks"]["default"]["ipv4_address"]
    subnet = ipaddress.ip_network(config["networks"]["default"]["ipam"]["config"][0]["subnet"])
    assert ipaddress.ip_address(address) in subnet
    assert ipaddress.ip_address(address) != next(subnet.hosts())  # not the gateway published ports come from
    # One address, not the subnet: the Docker gateway (published ports) and the other containers need a key.
    assert services["api"]["environment"]["OCR_METRICS_ALLOW"] == f"{address}/32"
    allowing = [name for name, service in services.items() if "OCR_METRICS_ALLOW" in service.get("environment", {})]
    assert allowing == ["api"]


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


def pod_env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A container's ``env`` entries by name, in their order."""
    return {entry["name"]: entry for entry in container.get("env", [])}


def secret_ref(entry: dict[str, Any]) -> tuple[str, str]:
    """(Secret, key) an env entry reads."""
    ref = entry["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def strings(node: object) -> list[str]:
    """Every string value in a parsed manifest."""
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings(value)]
    return [node] if isinstance(node, str) else []


def test_kubernetes_redis_takes_its_password_from_the_operators_secret() -> None:
    documents = k8s_documents()
    redis = next(doc for doc in documents if doc["kind"] == "StatefulSet" and doc["metadata"]["name"] == "redis")
    container = redis["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert command_arg(args, "--requirepass") == "$(REDIS_PASSWORD)"
    assert command_arg(args, "--appendonly") == "yes"
    env = pod_env(container)
    assert secret_ref(env["REDIS_PASSWORD"]) == secret_ref(env["REDISCLI_AUTH"]) == ("ocr-redis", "password")
    for probe in ("readinessProbe", "livenessProbe"):
        assert "redis-cli ping" in " ".join(container[probe]["exec"]["command"])  # REDISCLI_AUTH: authenticated
    # The operator creates the Secrets (kubectl create secret): none is committed, no password is written.
    assert not [doc for doc in documents if doc["kind"] == "Secret"]
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert not {"secretGenerator", "secrets"} & set(kustomization)
    for text in (text for doc in documents for text in strings(doc)):
        if "redis://" in text:
            assert text == REDIS_URL_IN_K8S, text
    configmap = next(doc for doc in documents if doc["kind"] == "ConfigMap")
    assert "OCR_REDIS_URL" not in configmap["data"]
    assert not [name for name in configmap["data"] if "PASSWORD" in name or "SECRET" in name]


def test_kubernetes_every_redis_client_builds_its_url_from_the_secret() -> None:
    deployments = {doc["metadata"]["name"]: doc for doc in k8s_documents() if doc["kind"] == "Deployment"}
    clients = set()
    for name, deployment in deployments.items():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            sources = container.get("envFrom", [])
            if any(source.get("configMapRef", {}).get("name") == "ocr-config" for source in sources):
                clients.add(name)
                env = pod_env(container)
                order = list(env)
                assert secret_ref(env["REDIS_PASSWORD"]) == ("ocr-redis", "password"), name
                assert env["OCR_REDIS_URL"]["value"] == REDIS_URL_IN_K8S, name
                # Kubernetes expands $(VAR) only from entries above it.
                assert order.index("REDIS_PASSWORD") < order.index("OCR_REDIS_URL"), name
    assert clients == {"api", "worker-cpu", "worker-gpu", "flower"}


def test_kubernetes_flower_needs_a_login_and_stays_inside_the_cluster() -> None:
    documents = k8s_documents()
    services = {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == "Service"}
    assert services["flower"]["spec"]["type"] == "ClusterIP"
    for name, service in services.items():  # nothing is exposed outside the cluster by these manifests
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", name
    assert not [doc for doc in documents if doc["kind"] == "Ingress"]
    flower = next(doc for doc in documents if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "flower")
    pod = flower["spec"]["template"]["spec"]
    assert secret_ref(pod_env(pod["containers"][0])["FLOWER_BASIC_AUTH"]) == ("ocr-flower", "basic-auth")
    # Service links would set FLOWER_PORT=tcp://<ip>:5555, which Flower parses as its --port and dies on.
    assert pod["enableServiceLinks"] is False


def test_kubernetes_metrics_allow_is_a_documented_placeholder() -> None:
    text = (K8S / "configmap.yaml").read_text()
    configmap = yaml.safe_load(text)
    assert configmap["data"]["OCR_METRICS_ALLOW"] == ""  # the operator sets the pod CIDR, or scrapes with a key
    assert "pod CIDR" in text and "admin key" in text
