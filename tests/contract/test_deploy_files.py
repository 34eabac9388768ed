"""Deployment files parse, and agree with the code: services, ports, topics, settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from leadflow.services import DEFAULT_PORTS
from shared.config import ServiceSettings
from shared.contracts.topics import SERVICES, topics_consumed_by

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
YAML_FILES = sorted((ROOT / "deploy").rglob("*.yaml")) + [ROOT / "docker-compose.yml"]
CONSUMERS = [s for s in SERVICES if topics_consumed_by(s)]


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def k8s_objects() -> list[dict[str, Any]]:
    return [d for p in sorted(K8S.glob("*.yaml")) for d in documents(p)]


def find(kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in k8s_objects() if o.get("kind") == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name!r} in deploy/k8s, got {len(matches)}"
    return matches[0]


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    return doc


def configmap_data() -> dict[str, str]:
    data: dict[str, str] = find("ConfigMap", "leadflow-config")["data"]
    return data


def container_env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_yaml_file_parses_to_mappings(path: Path) -> None:
    docs = documents(path)
    assert docs and all(isinstance(d, dict) for d in docs)


@pytest.mark.parametrize("service", SERVICES)
def test_compose_runs_the_service_after_init_with_a_readiness_check(service: str) -> None:
    svc = compose()["services"][service]
    port = DEFAULT_PORTS[service]
    assert svc["command"] == ["leadflow", "run", service]
    assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
    assert str(svc["environment"]["LEADFLOW_PORT"]) == str(port)
    assert f"{port}:{port}" in svc["ports"]
    for key in ("LEADFLOW_DATABASE_URL", "LEADFLOW_KAFKA_BOOTSTRAP", "LEADFLOW_CONFIG_FILE"):
        assert key in svc["environment"]
    assert svc["environment"]["LEADFLOW_KAFKA_IDEMPOTENCE"] == "true"
    assert "/readyz" in " ".join(svc["healthcheck"]["test"])
    assert svc["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
        "init": {"condition": "service_completed_successfully"},
    }


def test_compose_infrastructure_is_healthchecked_and_init_migrates_then_creates_topics() -> None:
    services = compose()["services"]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["kafka"]["healthcheck"]["test"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert re.search(r"leadflow migrate && leadflow topics", " ".join(services["init"]["command"]))
    assert {d["condition"] for d in services["init"]["depends_on"].values()} == {"service_healthy"}


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_deployment_has_probes_secrets_config_and_scrape_annotations(service: str) -> None:
    deployment = find("Deployment", service)
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    port = DEFAULT_PORTS[service]
    assert container["command"] == ["leadflow", "run", service]
    assert container["ports"][0]["containerPort"] == port
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert pod["spec"]["terminationGracePeriodSeconds"] == 30
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    env = container_env(container)
    assert env["LEADFLOW_PORT"] == str(port)
    assert env["LEADFLOW_DATABASE_URL"]["secretKeyRef"]["name"] == "leadflow-secrets"
    assert env["LEADFLOW_KAFKA_BOOTSTRAP"]["configMapKeyRef"]["name"] == "leadflow-config"
    assert find("Service", service)["spec"]["ports"][0]["port"] == port


@pytest.mark.parametrize("service", list(DEFAULT_PORTS))
def test_every_k8s_deployment_reads_the_key_ring_from_a_secret(service: str) -> None:
    pod = find("Deployment", service)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    ring = Path(container_env(container)["LEADFLOW_API_KEYS_FILE"])
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    mount = mounts[str(ring.parent)]
    assert mount["readOnly"] is True
    assert volumes[mount["name"]]["secret"]["secretName"] == "leadflow-api-keys"
    example = [d for d in documents(K8S / "secret.example.yaml") if d["metadata"]["name"]
               == "leadflow-api-keys"]  # fmt: skip
    assert ring.name in example[0]["stringData"]


def test_compose_services_read_the_key_ring() -> None:
    for name in DEFAULT_PORTS:
        service = compose()["services"][name]
        ring = service["environment"]["LEADFLOW_API_KEYS_FILE"]
        assert any(str(v).endswith(f":{Path(ring).parent}:ro") for v in service["volumes"])


@pytest.mark.parametrize("service", CONSUMERS)
def test_consumers_scale_on_lag_of_every_topic_they_consume(service: str) -> None:
    scaled = find("ScaledObject", service)["spec"]
    triggers = [t["metadata"] for t in scaled["triggers"] if t["type"] == "kafka"]
    assert scaled["scaleTargetRef"]["name"] == service
    assert sorted(t["topic"] for t in triggers) == sorted(topics_consumed_by(service))
    assert {t["consumerGroup"] for t in triggers} == {service}
    assert {t["bootstrapServers"] for t in triggers} == {configmap_data()["kafka-bootstrap"]}
    assert all(int(t["lagThreshold"]) > 0 for t in triggers)
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    assert scaled["maxReplicaCount"] <= int(configmap_data()["kafka-partitions"])


def test_capture_scales_on_cpu() -> None:
    hpa = find("HorizontalPodAutoscaler", "capture")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "capture",
    }
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"


def test_init_job_migrates_then_creates_topics() -> None:
    container = find("Job", "leadflow-init")["spec"]["template"]["spec"]["containers"][0]
    assert re.search(r"leadflow migrate && leadflow topics", " ".join(container["command"]))


def test_configmap_carries_the_example_config() -> None:
    example = yaml.safe_load((ROOT / "examples" / "leadflow.yaml").read_text("utf-8"))
    assert yaml.safe_load(configmap_data()["leadflow.yaml"]) == example, (
        "deploy/k8s/configmap.yaml is stale: run `leadflow docs`"
    )


def test_kustomization_lists_every_manifest() -> None:
    kustomization = documents(K8S / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == present


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?(LEADFLOW_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert listed == {f"LEADFLOW_{name.upper()}" for name in ServiceSettings.model_fields}


def test_image_runs_as_non_root_without_dev_dependencies() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER 10001", dockerfile, flags=re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile and "/readyz" in dockerfile
    assert "[dev]" not in dockerfile


# -- secrets: names in the ConfigMap, values only in Secrets ------------------------------

SECTION_OWNERS = {
    "capture": "capture",
    "scoring": "scorer",
    "routing": "router",
    "nurture": "nurture",
    "notifier": "notifier",
    "insights": "insights",
}
# What a secret looks like, whatever key holds it.
SECRET_SHAPES = {
    "Standard Webhooks secret": re.compile(r"whsec_[A-Za-z0-9+/=]{8,}"),
    "Leadflow API key": re.compile(r"\blf_[A-Za-z0-9_-]{16,}"),
    "password in a URL": re.compile(r"://[^/\s:@]+:[^/\s@$]+@"),
    "bearer token": re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{8,}"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\."),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
}
# Keys that hold a secret: their value must be a ${NAME} reference.
SECRET_KEYS = re.compile(
    r"^(secret|token|password|passwd|api_key|access_token|client_secret|private_key|app_secret)$"
)
REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(:-[^}]*)?\}")


def walk(node: Any, at: str = "") -> list[tuple[str, str, Any]]:
    """(path, key, value) of every scalar in a parsed YAML document."""
    if isinstance(node, dict):
        return [w for k, v in node.items() for w in walk(v, f"{at}.{k}" if at else str(k))]
    if isinstance(node, list):
        return [w for i, v in enumerate(node) for w in walk(v, f"{at}[{i}]")]
    return [(at, at.rsplit(".", 1)[-1].split("[")[0], node)]


def config_in_configmap() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(configmap_data()["leadflow.yaml"])
    return config


def test_the_configmap_holds_no_secret() -> None:
    path = K8S / "configmap.yaml"
    text = path.read_text(encoding="utf-8")
    found = [
        f"{what} in {path.name}" for what, shape in SECRET_SHAPES.items() if shape.search(text)
    ]
    scalars = [*walk(documents(path)[0]), *walk(config_in_configmap())]
    for at, key, value in scalars:
        if SECRET_KEYS.match(key) and not (
            isinstance(value, str) and REFERENCE.fullmatch(value) and ":-" not in value
        ):
            found.append(f"{at}: a secret key with a value that is not a ${{NAME}} reference")
    assert not found, found


def test_the_secret_shapes_would_catch_an_inline_secret() -> None:
    # The check above is only as good as its shapes: each one catches what it names.
    samples = {
        "Standard Webhooks secret": "secret: whsec_bGVhZGZsb3ctZGVtby1zZWNyZXQ=",
        "Leadflow API key": "key: lf_3q2p9XcVb8N1mK7LzR4tY6wE0",
        "password in a URL": "url: postgresql://leadflow:hunter2@db:5432/leadflow",
        "bearer token": "Authorization: Bearer abcdef0123456789",
        "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
        "private key": "-----BEGIN RSA PRIVATE KEY-----",
        "AWS access key": "AKIAIOSFODNN7EXAMPLE",
    }
    assert samples.keys() == SECRET_SHAPES.keys()
    for what, sample in samples.items():
        assert SECRET_SHAPES[what].search(sample), what
    assert not SECRET_SHAPES["password in a URL"].search("url: postgresql://u:${DB_PW}@db/x")


def variables_needed(section: str, node: Any) -> set[str]:
    """Every variable a section reads: ${NAME} without a default, and capture's *_env."""
    needed: set[str] = set()
    for _, key, value in walk(node):
        if not isinstance(value, str):
            continue
        needed |= {m.group(1) for m in REFERENCE.finditer(value) if m.group(2) is None}
        if section == "capture" and key.endswith("_env"):
            needed.add(value)
    return needed


def secret_keys(name: str) -> set[str]:
    """The keys secret.example.yaml shows for the Secret ``name``."""
    docs = documents(K8S / "secret.example.yaml")
    found = [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == name]
    assert len(found) == 1, f"secret.example.yaml shows no Secret {name!r}"
    return set(found[0].get("stringData") or found[0].get("data") or {})


def variables_given(service: str) -> dict[str, str]:
    """Variable -> where the service's pod gets it (a Secret, a ConfigMap, a literal)."""
    container = find("Deployment", service)["spec"]["template"]["spec"]["containers"][0]
    given: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "secretRef" in source:
            ref = source["secretRef"]["name"]
            given |= {key: f"Secret {ref}" for key in secret_keys(ref)}
    for entry in container.get("env", []):
        value_from = entry.get("valueFrom") or {}
        if "secretKeyRef" in value_from:
            given[entry["name"]] = f"Secret {value_from['secretKeyRef']['name']}"
        elif "configMapKeyRef" in value_from:
            given[entry["name"]] = "ConfigMap"
        else:
            given[entry["name"]] = "literal"
    return given


def test_every_variable_the_config_needs_comes_from_a_secret_in_its_services_pods() -> None:
    config = config_in_configmap()
    assert set(config) <= set(SECTION_OWNERS), set(config) - set(SECTION_OWNERS)
    missing = []
    for section, service in SECTION_OWNERS.items():
        given = variables_given(service)
        for name in sorted(variables_needed(section, config.get(section))):
            source = given.get(name) or given.get(name + "_FILE")
            if source is None or not source.startswith("Secret "):
                missing.append(f"{section} needs {name}; {service} gets it from {source}")
    assert not missing, missing
    assert variables_needed("notifier", config["notifier"]) == {
        "LEADFLOW_DEMO_WEBHOOK_SECRET",
        "LEADFLOW_SLACK_WEBHOOK_URL",
        "LEADFLOW_SLACK_BOT_TOKEN",
        "LEADFLOW_TEAMS_WEBHOOK_URL",
        "LEADFLOW_SMS_AUTH_TOKEN",
    }


def test_compose_takes_every_secret_the_config_needs_from_the_environment() -> None:
    config = yaml.safe_load((ROOT / "examples" / "leadflow.yaml").read_text("utf-8"))
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert not [what for what, shape in SECRET_SHAPES.items() if shape.search(text)]
    services = compose()["services"]
    for section, service in SECTION_OWNERS.items():
        env = services[service]["environment"]
        for name in variables_needed(section, config.get(section)):
            assert str(env.get(name, "")).startswith("${" + name), (service, name)
