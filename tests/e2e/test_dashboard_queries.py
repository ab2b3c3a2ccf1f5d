"""Every query of the Grafana dashboard, run by a real Prometheus scraping the exporter's demo.

What keeps the dashboard from silently breaking when a metric or label is renamed: each panel
target and each variable query must run without error and return series, with the template
variables set both to one real value and to "All".
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.compute_feed import compute_feed
from tests.e2e.stack import Prometheus, prometheus, prometheus_config
from tests.procs import exporter, http_post, wait_for

# One worker runs the whole module: its tests share one Prometheus (module fixture).
pytestmark = pytest.mark.xdist_group("dashboard-queries")
ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "grafana" / "dashboards" / "neon-exporter.json"
COMPUTE_RULES = ROOT / "deploy" / "prometheus" / "neon-exporter-compute.yml"
# Grafana's built-in interval variables, at values that suit a 1 s scrape interval.
BUILTINS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "6h"}


def _dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def _targets() -> list[tuple[str, str, str]]:
    """(panel title, refId, expr) of every panel target."""
    return [
        (p["title"], t["refId"], t["expr"])
        for p in _dashboard()["panels"]
        if p["type"] != "row"
        for t in p["targets"]
    ]


def _expr(title: str) -> str:
    return next(expr for t, _, expr in _targets() if t == title)


def _legend(title: str, ref: str) -> str:
    for p in _dashboard()["panels"]:
        for t in p.get("targets", []):
            if p["title"] == title and t["refId"] == ref:
                return str(t.get("legendFormat", ""))
    raise KeyError((title, ref))


@dataclass
class Stack:
    prom: Prometheus
    exporter_url: str
    values: dict[str, dict[str, str]]  # variable mode -> {"$key": ..., "$project": ...}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("dashboard")
    args = ["--demo", "--poll.interval", "2s", "--key-check.interval", "1s"]
    with (
        exporter(tmp, args) as exp,
        compute_feed(exp.url) as feed,
        prometheus(tmp, _config(exp.url.removeprefix("http://"), feed)) as prom,
    ):

        def has_data() -> bool:
            # Three scrapes of every family the dashboard reads, so rate() has samples.
            checks = [
                "min(count_over_time(neon_exporter_api_requests_total[1m])) >= 3",
                "min(count_over_time(neon_api_key_valid[1m])) >= 3",
                "count(neon_project_info) >= 24",
                "count(neon_endpoint_info) >= 1",
                "count(neon_listed_api_key_info) >= 4",  # the demo's key inventory
                # Every project's endpoints, branches and usage fetched at least once.
                "count(neon_exporter_detail_unfetched_projects) >= 3",
                "max(neon_exporter_detail_unfetched_projects) == 0",
                # Neon's compute series (the stand-in export), rated over three scrapes.
                "min(count_over_time(host_cpu_seconds_total[1m])) >= 3",
                "count(neon_endpoint:neon_lfc_hit_ratio:rate5m) >= 1",
            ]
            return all(prom.query(q) for q in checks)

        wait_for(has_data, timeout=90, interval=1, what="demo data in prometheus")
        project = _project_variable(prom)[0][0]
        # Grafana escapes regex metacharacters in a value; Neon project ids have none.
        assert re.fullmatch(r"[a-z0-9-]+", project), project
        # A project's usage comes from its plan's route: the demo has projects on a legacy plan
        # and on a usage-based one, and "one" selects one of the right plan for each usage row.
        legacy, metered = (
            _project_variable(prom, only=f"{metric} > -1")[0][0]
            for metric in (LEGACY_USAGE, METERED_USAGE)
        )
        yield Stack(
            prom,
            exp.url,
            {
                "one": {"$key": "demo", "$project": project},
                "one-" + LEGACY_USAGE: {"$key": "demo", "$project": legacy},
                "one-" + METERED_USAGE: {"$key": "demo", "$project": metered},
                "all": {"$key": ".*", "$project": ".*"},
            },
        )


def _config(exporter: str, feed: str) -> dict[str, Any]:
    """The demo exporter, and Neon's compute series (a stand-in for its metrics export) as a
    second job, with the compute recording rules."""
    config = prometheus_config(job="neon-exporter", targets=[exporter], rule_files=[COMPUTE_RULES])
    job = {"job_name": "neon-compute", "scrape_interval": "1s", "scrape_timeout": "1s"}
    config["scrape_configs"].append(job | {"static_configs": [{"targets": [feed]}]})
    return config


LEGACY_USAGE = "neon_project_active_time_seconds"  # any legacy usage gauge
METERED_USAGE = "neon_project_compute_unit_seconds"  # any usage-based plan's gauge
_LEGACY_RE = re.compile(
    r"neon_project_(active_time|compute_time|written_data|data_transfer|data_storage)_"
)
_METERED_RE = re.compile(
    r"neon_(project|branch)_\w+_(unit_seconds|months|network_transfer_bytes)\b"
)


def _values(stack: Stack, mode: str, expr: str) -> dict[str, str]:
    """The variables of ``mode``; "one" selects a project whose plan reports the usage asked."""
    if mode == "one" and _LEGACY_RE.search(expr):
        return stack.values["one-" + LEGACY_USAGE]
    if mode == "one" and _METERED_RE.search(expr):
        return stack.values["one-" + METERED_USAGE]
    return stack.values[mode]


def _variables() -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in _dashboard()["templating"]["list"]}


def _project_variable(prom: Prometheus, only: str = "") -> list[tuple[str, str]]:
    """(value, text) options of the project variable, as Grafana derives them; ``only``: those
    of projects with a series of that expression."""
    var = _variables()["project"]
    inner = re.fullmatch(r"query_result\((.*)\)", var["query"])
    assert inner is not None
    # Grafana renders each series as name{label="value",...} and applies the variable's regex;
    # JavaScript's named groups (?<n>...) are Python's (?P<n>...).
    pattern = re.compile(var["regex"].strip("/").replace("(?<", "(?P<"))
    options = []
    query = inner.group(1)
    if only:
        query = f"{query} and on (project_id) ({only})"
    for series in prom.query(query):
        text = "{" + ",".join(f'{k}="{v}"' for k, v in series["metric"].items()) + "}"
        m = pattern.search(text)
        assert m is not None, text
        options.append((m.group("value"), m.group("text")))
    assert options
    return options


def _substitute(expr: str, values: dict[str, str]) -> str:
    for name, value in sorted({**BUILTINS, **values}.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace("${" + name[1:] + "}", value).replace(name, value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


@pytest.mark.e2e
def test_variable_queries_return_values(stack: Stack) -> None:
    """The key and project variables list the demo key and every demo project by name."""
    key = _variables()["key"]["query"]
    m = re.fullmatch(r"label_values\((\w+), (\w+)\)", key)
    assert m is not None
    assert [s["metric"][m.group(2)] for s in stack.prom.query(m.group(1))] == ["demo"]
    options = _project_variable(stack.prom)
    assert len(options) == 24
    assert all(value and text for value, text in options)


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["one", "all"])
@pytest.mark.parametrize(
    ("title", "ref", "expr"), _targets(), ids=[f"{t}/{r}" for t, r, _ in _targets()]
)
def test_panel_query_returns_series(
    stack: Stack, mode: str, title: str, ref: str, expr: str
) -> None:
    """The panel target runs without error and returns series carrying its legend's labels."""
    result = stack.prom.query(_substitute(expr, _values(stack, mode, expr)))
    assert result, f"{title}/{ref}: no series for {expr}"
    for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", _legend(title, ref)):
        assert all(label in s["metric"] for s in result), f"{title}/{ref}: no label {label}"


@pytest.mark.e2e
def test_key_panels_show_a_rejected_key(stack: Stack) -> None:
    """After Neon answers 401, "API key valid" reads 0 and "Time since last 401" leaves "never"."""
    one = stack.values["one"]

    def value(title: str) -> float:
        result = stack.prom.query(_substitute(_expr(title), one))
        assert len(result) == 1, result
        return float(result[0]["value"][1])

    assert value("Time since last 401") == -1  # the "never" mapping
    http_post(f"{stack.exporter_url}/-/demo/revoke")
    try:
        wait_for(lambda: value("API key valid") == 0, timeout=30, what="key rejected")
        wait_for(lambda: value("Time since last 401") >= 0, timeout=30, what="401 time")
    finally:
        http_post(f"{stack.exporter_url}/-/demo/restore")


def _annotations() -> list[dict[str, Any]]:
    listed = _dashboard()["annotations"]["list"]
    return [a for a in listed if a["datasource"]["type"] == "prometheus"]


@pytest.mark.e2e
@pytest.mark.parametrize("annotation", _annotations(), ids=lambda a: str(a["name"]))
def test_annotation_query_returns_times(stack: Stack, annotation: dict[str, Any]) -> None:
    """A Prometheus annotation's query runs and returns series carrying its text's labels, whose
    values are the event times in milliseconds (useValueForTime), in the demo's future."""
    assert annotation["useValueForTime"] is True
    result = stack.prom.query(_substitute(annotation["expr"], stack.values["all"]))
    assert result, f"{annotation['name']}: no series for {annotation['expr']}"
    now_ms = time.time() * 1000
    for series in result:
        for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", annotation["textFormat"]):
            assert label in series["metric"], f"{annotation['name']}: no label {label}"
        assert now_ms < float(series["value"][1]) < now_ms + 7 * 86400 * 1000


@pytest.mark.e2e
@pytest.mark.parametrize(
    "record",
    re.findall(r"record: (\S+)", COMPUTE_RULES.read_text()),
)
def test_compute_recording_rules_join(stack: Stack, record: str) -> None:
    """Each recorded join of Neon's compute series with the exporter's has series in a real
    Prometheus, and the joined ones carry the exporter's labels (the project's name)."""
    result = stack.prom.query(record)
    assert result, record
    for series in result:
        assert series["metric"]["project_id"]
        if record.startswith("neon_endpoint_state:") or record.endswith(":named"):
            assert series["metric"]["project_name"], series
