"""The Kubernetes manifests and images, checked offline: schemas, invariants, one gateway config."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from gateway.render import GENERATED, PLACES, render
from tests.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir())
KUBERNETES_VERSION = "1.32.0"
# Custom resources have no schema in kubernetes-validate; their operators validate them.
CUSTOM_KINDS = {("postgresql.cnpg.io/v1", "Cluster")}
PORTS = {"ingest": 50051, "synth": 50052}
METRICS_PORTS = {"ingest": 9464, "synth": 9465}
WORKLOADS = ("Deployment", "StatefulSet")


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run(["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
                         capture_output=True, text=True, check=True).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def objects(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in rendered(overlay) if o["kind"] == kind]


def pod_specs(overlay: str) -> list[tuple[str, dict[str, Any]]]:
    return [(o["metadata"]["name"], o["spec"]["template"]["spec"])
            for kind in WORKLOADS for o in objects(overlay, kind)]


def pod_templates(overlay: str) -> list[tuple[str, dict[str, Any]]]:
    """Each workload's pod annotations."""
    return [(o["metadata"]["name"], o["spec"]["template"]["metadata"].get("annotations", {}))
            for kind in WORKLOADS for o in objects(overlay, kind)]


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schemas(overlay: str) -> None:
    checked = 0
    for obj in rendered(overlay):
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_probed_bounded_and_locked_down(overlay: str) -> None:
    for name, spec in pod_specs(overlay):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{overlay}/{name}/{container['name']}"
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), where
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
        for container in spec["containers"]:
            assert "readinessProbe" in container and "livenessProbe" in container, f"{name}/{container['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_probe_their_grpc_health_on_the_port_they_listen_on(overlay: str) -> None:
    specs = dict(pod_specs(overlay))
    for service, port in PORTS.items():
        container = specs[service]["containers"][0]
        listen = env(container)[f"{service.upper()}_LISTEN"]
        assert listen == f"0.0.0.0:{port}"
        metrics = METRICS_PORTS[service]
        assert container["ports"] == [{"name": "grpc", "containerPort": port},
                                      {"name": "metrics", "containerPort": metrics}]
        assert env(container)[f"{service.upper()}_METRICS_LISTEN"] == f"0.0.0.0:{metrics}"
        annotations = dict(pod_templates(overlay))[service]
        assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"]) == ("true", str(metrics))
        assert container["readinessProbe"]["grpc"]["port"] == port
        assert container["livenessProbe"]["grpc"]["port"] == port
    gateway = specs["gateway"]["containers"][0]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "admin"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_selects_pods_that_exist_on_ports_they_open(overlay: str) -> None:
    pods = [(o["spec"]["template"]["metadata"]["labels"], o["spec"]["template"]["spec"])
            for kind in WORKLOADS for o in objects(overlay, kind)]
    for service in objects(overlay, "Service"):
        selector = service["spec"]["selector"]
        matching = [spec for labels, spec in pods if selector.items() <= labels.items()]
        assert matching, f"Service {service['metadata']['name']} selects no pods"
        opened = {p.get("name") for spec in matching for c in spec["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in opened, f"{service['metadata']['name']}: {port}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_reaches_services_through_headless_services(overlay: str) -> None:
    services = {s["metadata"]["name"]: s for s in objects(overlay, "Service")}
    config = yaml.safe_load(objects(overlay, "ConfigMap")[0]["data"]["envoy.yaml"])
    for cluster in config["static_resources"]["clusters"]:
        endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        if cluster["name"] == "admin":  # Envoy's own admin socket, inside the pod
            assert set(endpoint["address"]) == {"pipe"}
            continue
        address = endpoint["address"]["socket_address"]
        service = services[address["address"]]
        assert (cluster["type"], cluster["lb_policy"]) == ("STRICT_DNS", "ROUND_ROBIN")
        assert service["spec"]["clusterIP"] == "None"
        assert address["port_value"] == PORTS[cluster["name"]] == service["spec"]["ports"][0]["port"]


def test_cluster_gateway_config_is_the_template_rendered_with_cluster_addresses() -> None:
    committed = (K8S / "base" / "gateway-envoy.yaml").read_text()
    assert committed == GENERATED + render(PLACES["kubernetes"]), "run `make k8s-config`"


def test_local_and_cluster_gateway_configs_differ_only_in_addresses() -> None:
    local = dict(PLACES["kubernetes"], **PLACES["local"], listen_port="8080", admin_port="9901",
                 ingest_port="50051", synth_port="50052", descriptor="/etc/parley/parley.pb")
    differing = [
        (a, b) for a, b in zip(render(local).splitlines(), render(PLACES["kubernetes"]).splitlines(), strict=True)
        if a != b
    ]
    assert differing
    for a, b in differing:
        assert re.sub(r"127\.0\.0\.1", "X", a) == re.sub(r"0\.0\.0\.0|\w+-headless", "X", b), (a, b)


def test_cluster_gateway_config_is_valid_envoy_config(tmp_path: Path) -> None:
    values = dict(PLACES["kubernetes"], descriptor=str(ROOT / "build" / "parley.pb"),
                  openapi=str(ROOT / "build" / "openapi.json"), docs=str(ROOT / "build" / "docs"),
                  console=str(ROOT / "build" / "console"), ingest_host="127.0.0.1", synth_host="127.0.0.1")
    config = tmp_path / "envoy.yaml"
    config.write_text(render(values))
    envoy = Path(sys.executable).parent / "envoy"
    result = subprocess.run([str(envoy), "--mode", "validate", "-c", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_secrets_come_from_outside_the_repo() -> None:
    for overlay in OVERLAYS:
        assert objects(overlay, "Secret") == [], f"{overlay} renders a Secret"
    for path in K8S.rglob("*.yaml"):
        assert not re.search(r"^kind:\s*Secret\b", path.read_text(), re.M), path
        assert not re.search(r"postgresql://\w+:(?!\$\()[^@\s]+@", path.read_text()), f"a password in {path}"


def test_prod_leaves_replicas_to_the_autoscalers_and_runs_ollama_on_gpus() -> None:
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in objects("prod", "HorizontalPodAutoscaler")}
    budgets = {p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
               for p in objects("prod", "PodDisruptionBudget")}
    assert scaled == budgets == {"ingest", "synth", "gateway"}
    for deployment in objects("prod", "Deployment"):
        name = deployment["metadata"]["name"]
        if name in scaled:
            assert "replicas" not in deployment["spec"], name
            assert deployment["spec"]["template"]["spec"]["topologySpreadConstraints"], name
    ollama = dict(pod_specs("prod"))["ollama"]
    assert ollama["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert ollama["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    policies = {p["metadata"]["name"]: p for p in objects("prod", "NetworkPolicy")}
    assert policies["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_database_url_reaches_ingest_and_its_migrations() -> None:
    expected = {
        "dev": "postgresql://parley:$(POSTGRES_PASSWORD)@postgres:5432/parley",
        "prod": {"secretKeyRef": {"name": "parley-db-app", "key": "uri"}},
    }
    for overlay, url in expected.items():
        spec = dict(pod_specs(overlay))["ingest"]
        for container in (spec["initContainers"][0], spec["containers"][0]):
            variables = env(container)
            assert variables["DATABASE_URL"] == url, (overlay, container["name"])
            if overlay == "dev":  # $(VAR) expands only from variables defined before it
                names = [e["name"] for e in container["env"]]
                assert names.index("POSTGRES_PASSWORD") < names.index("DATABASE_URL")
        assert env(spec["containers"][0])["INGEST_MIGRATE_ON_START"] == "false"
    assert env(dict(pod_specs("dev"))["synth"]["containers"][0])["SYNTH_OLLAMA_CONCURRENCY"] == "4"


DOCKERFILES = sorted((ROOT / "deploy" / "docker").glob("*.Dockerfile"))


def test_dockerfiles_pass_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), *map(str, DOCKERFILES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_images_are_multi_stage_non_root_and_build_their_stubs(dockerfile: Path) -> None:
    text = re.sub(r"^\s*#.*\n", "", dockerfile.read_text(), flags=re.M)  # instructions only
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) >= 2
    assert not re.search(r"^HEALTHCHECK", text, re.M)
    assert "python -m services.common.protogen" in text  # stubs and descriptor made from proto/
    assert "build/" not in text  # nothing copied from a local build
    for stage in stages[1:]:
        users = re.findall(r"^USER (\S+)", stage, re.M)
        inherits = not re.match(r"python:|envoyproxy/", stage)
        assert inherits or (users and not users[-1].startswith(("0", "root"))), stage.splitlines()[0]


def test_prod_fits_its_connection_budget() -> None:
    """Every pod's pool at the autoscalers' maximum fits PostgreSQL's max_connections, with room
    for the operator, replication and a few administrators."""
    (cluster,) = objects("prod", "Cluster")
    max_connections = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
    most = {h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
            for h in objects("prod", "HorizontalPodAutoscaler")}
    ingest = dict(pod_specs("prod"))["ingest"]["containers"][0]
    ingest_pool = int(env(ingest)["INGEST_POOL_MAX_SIZE"])
    synth_pool = 2  # services/synth/__main__.py: the key store's pool
    assert most["ingest"] * ingest_pool + most["synth"] * synth_pool + 20 <= max_connections


def test_prod_serves_https_through_an_ingress_with_a_managed_certificate() -> None:
    (ingress,) = objects("prod", "Ingress")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    assert ingress["spec"]["tls"][0]["secretName"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "gateway", "port": {"name": "http"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_creates_its_namespace(overlay: str) -> None:
    (namespace,) = objects(overlay, "Namespace")
    assert all(o.get("metadata", {}).get("namespace") in (None, namespace["metadata"]["name"])
               for kind in (*WORKLOADS, "Service", "ConfigMap") for o in objects(overlay, kind))
