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
