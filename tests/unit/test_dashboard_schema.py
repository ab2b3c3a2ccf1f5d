"""The Grafana dashboard: current with its generator, valid against Grafana's own schema, wired
to the dashboard variables the way grafana/neon_dashboard's docstring promises, and built from
every row module listed in its registry."""

from __future__ import annotations

import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
# The dashboard code lives beside its generator, not in the installed package: import it the way
# `python grafana/generate.py` does, with grafana/ on the path.
if str(GRAFANA) not in sys.path:
    sys.path.insert(0, str(GRAFANA))

from neon_dashboard import rows  # noqa: E402
from neon_dashboard.rows import ROWS  # noqa: E402

DASHBOARD = GRAFANA / "dashboards" / "neon-exporter.json"
SCHEMAS = GRAFANA / "schema"
ALERTS_DOC = "https://github.com/neon-exporter/neon-exporter/blob/main/docs/alerts.md"

# Series with a `key` label (health) and series with a `project_id` label (data).
KEY_METRICS = {
    "neon_api_key_valid",
    "neon_api_key_last_rejected_timestamp_seconds",
    "neon_exporter_poll_success",
    "neon_exporter_poll_last_success_timestamp_seconds",
    "neon_exporter_poll_duration_seconds",
    "neon_exporter_api_requests_total",
    "neon_projects",
    "neon_exporter_api_budget_requests_per_minute",
    "neon_exporter_detail_oldest_timestamp_seconds",
    "neon_exporter_detail_unfetched_projects",
    "neon_shared_projects",
}
# Series of projects that are not the account's live ones (deleted, or another account's): never
# among the project variable's values, so that variable cannot filter them.
NOT_LIVE = re.compile(r"neon_(deleted|shared)_project_")
# What Grafana's Prometheus datasource reads from an annotation query (its annotations.ts), which
# the dashboard schema (generated from a TypeScript type with TODOs there) does not list.
PROMETHEUS_ANNOTATION = {
    "expr": str,
    "step": str,
    "tagKeys": str,
    "textFormat": str,
    "titleFormat": str,
    "useValueForTime": bool,
}
KEY_METRICS.add("neon_api_key_info")
KEY_METRICS |= {  # the key's account (--collector.account)
    "neon_account_projects_limit",
    "neon_account_billing_state",
    "neon_account_branches_limit",
    "neon_account_max_autoscaling_limit_cu",
}
# Account data (the API key inventory): neither per key nor per project, so no variable.
ACCOUNT_METRICS = {
    "neon_listed_api_key_info",
    "neon_listed_api_key_created_timestamp_seconds",
    "neon_listed_api_key_last_used_timestamp_seconds",
    # organizations (--collector.org_security, --collector.vpc_endpoints)
    "neon_organization_members",
    "neon_organization_members_without_mfa",
    "neon_organization_mfa_required",
    "neon_organization_deactivated_members",
    "neon_organization_oldest_pending_invitation_timestamp_seconds",
    "neon_vpc_endpoint_state",
    "neon_vpc_endpoint_info",
}
SELECTOR = re.compile(r"\b(neon_[a-z_]+)(\{[^}]*\})?")


def _dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def _panels() -> list[dict[str, Any]]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def _validator(path: Path, definition: str) -> Draft7Validator:
    schema = json.loads(path.read_text())
    return Draft7Validator({**schema, "$ref": f"#/definitions/{definition}"})


def _errors(validator: Draft7Validator, instance: object) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def test_committed_json_is_generator_output() -> None:
    """grafana/dashboards/neon-exporter.json is exactly what grafana/generate.py writes, run the
    way the README says (its --check exits 1 on a stale JSON)."""
    done = subprocess.run(
        [sys.executable, str(GRAFANA / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), "run: python grafana/generate.py"


def test_every_row_module_is_a_dashboard_row_in_registry_order() -> None:
    """Each module in grafana/neon_dashboard/rows/ is listed once in ROWS, and the dashboard's
    rows are ROWS' titles in order: a new row module that is not registered fails here."""
    modules = {m.name for m in pkgutil.iter_modules(rows.__path__)}
    listed = [r.panels.__module__.rsplit(".", 1)[1] for r in ROWS]
    assert sorted(listed) == sorted(modules)
    titles = [p["title"] for p in _dashboard()["panels"] if p["type"] == "row"]
    assert titles == [r.title for r in ROWS]


def test_dashboard_is_valid_against_grafana_schema() -> None:
    """The dashboard validates against the schema generated from @grafana/schema's Dashboard."""
    validator = _validator(SCHEMAS / "dashboard.schema.json", "Dashboard")
    dashboard = _dashboard()
    for annotation in dashboard["annotations"]["list"]:
        if annotation["datasource"]["type"] == "prometheus":
            for name, kind in PROMETHEUS_ANNOTATION.items():
                assert isinstance(annotation.pop(name), kind), (annotation["name"], name)
    assert _errors(validator, dashboard) == []
    # The panel list is anyOf(Panel, RowPanel), whose error says only "not valid under any":
    # each panel against its own definition names the offending field.
    panel = _validator(SCHEMAS / "dashboard.schema.json", "Panel")
    assert [(p["title"], _errors(panel, p)) for p in _panels() if _errors(panel, p)] == []


@pytest.mark.parametrize("panel", _panels(), ids=lambda p: str(p["title"]))
def test_panel_options_are_valid_against_plugin_schema(panel: dict[str, Any]) -> None:
    """Each panel's options and field config validate against its plugin's own schema."""
    path = SCHEMAS / "panels" / f"{panel['type']}.schema.json"
    assert path.exists(), f"no schema for panel type {panel['type']}"
    assert _errors(_validator(path, "Options"), panel["options"]) == []
    defaults = panel["fieldConfig"]["defaults"]
    field_config = json.loads(path.read_text())["definitions"]["FieldConfig"]
    # A plugin with custom field options has its own FieldConfig (for defaults.custom); one
    # without has the common FieldConfig (for the whole of defaults).
    custom = "unit" not in field_config.get("properties", {})
    instance = defaults.get("custom", {}) if custom else defaults
    assert _errors(_validator(path, "FieldConfig"), instance) == []


def test_dashboard_defaults_and_variables() -> None:
    """Last 6 h, 1 m refresh, a Prometheus datasource variable, multi-select key and project."""
    dash = _dashboard()
    assert dash["time"] == {"from": "now-6h", "to": "now"}
    assert dash["refresh"] == "1m"
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("key", "project"):
        var = variables[name]
        assert (var["type"], var["multi"], var["includeAll"]) == ("query", True, True)
        assert var["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_dashboard_links_to_alerts_runbook() -> None:
    """The dashboard links to docs/alerts.md."""
    assert ALERTS_DOC in [link["url"] for link in _dashboard()["links"]]


def test_every_panel_explains_itself() -> None:
    """Every panel has a question-led description and a unit, and queries the chosen datasource."""
    for panel in _panels():
        assert "?" in panel["description"], panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["targets"], panel["title"]
        for t in panel["targets"]:
            assert t["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


ORG_METRICS = {"neon_organization_spending_limit_dollars"}


def test_every_selector_is_filtered_by_its_variable() -> None:
    """Health series are filtered by $key and data series by $project, in every query."""
    for panel in _panels():
        for t in panel["targets"]:
            for m in SELECTOR.finditer(t["expr"]):
                metric, matchers = m.group(1), m.group(2) or ""
                if (
                    metric == "neon_exporter_build_info"
                    or NOT_LIVE.match(metric)
                    or metric in ACCOUNT_METRICS
                ):
                    continue
                if metric in ORG_METRICS:  # per organization: joined to the selected projects
                    assert 'neon_project_info{project_id=~"$project"}' in t["expr"], metric
                    continue
                wanted = 'key=~"$key"' if metric in KEY_METRICS else 'project_id=~"$project"'
                assert wanted in matchers, f"{panel['title']}: {metric}{matchers}"


def test_panel_ids_unique_and_grid_without_overlap() -> None:
    """Panel ids are unique and no two panels overlap on Grafana's 24-column grid."""
    panels = _dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: dict[tuple[int, int], str] = {}
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0, p["title"]
        assert g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


def test_provisioning_files() -> None:
    """The provisioning files load the dashboards folder and a default Prometheus datasource."""
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/neon-exporter.yml").read_text())
    assert [p["type"] for p in provider["providers"]] == ["file"]
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())[
        "datasources"
    ]
    assert [(d["type"], d["isDefault"]) for d in datasources] == [("prometheus", True)]
