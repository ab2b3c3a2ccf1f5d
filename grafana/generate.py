"""Generates grafana/dashboards/neon-exporter.json: the dashboard is code, the JSON is its output.

    python grafana/generate.py           # rewrite the JSON after changing this file
    python grafana/generate.py --check   # exit 1 if the committed JSON is not this file's output

Plain Python (no SDK): each panel is one call that names the operator's question it answers.
tests/unit/test_dashboard_schema.py checks the output against Grafana's own schema (grafana/schema/)
and that the committed JSON is current; tests/e2e/test_dashboard_queries.py runs every query
against a real Prometheus scraping the exporter's demo mode.

Query conventions (the tests check them):
- health series carry `key`: every selector of them has key=~"$key";
- data series carry `project_id`: every selector of them has project_id=~"$project";
- data series are first reduced with `max by (project_id, ...)`, so two exporter replicas scraped
  for HA never double a count;
- a panel that could honestly have no series in a healthy setup (no 401 yet, no 429 yet) has a
  fallback (`or ...`) so it shows a value, never "No data".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Json = dict[str, Any]

OUT = Path(__file__).resolve().parent / "dashboards" / "neon-exporter.json"
ALERTS_DOC = "https://github.com/neon-exporter/neon-exporter/blob/main/docs/alerts.md"
DS: Json = {"type": "prometheus", "uid": "${datasource}"}
K = 'key=~"$key"'
P = 'project_id=~"$project"'
SCHEMA_VERSION = 39  # Grafana 10.4 / 11; newer Grafana migrates it on load

GREEN, YELLOW, RED, BLUE = "green", "#EAB839", "red", "blue"


def _see(anchor: str) -> str:
    return f" Runbook: [{anchor}]({ALERTS_DOC}#{anchor.lower()})."


def thresholds(*steps: tuple[float | None, str]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


def target(expr: str, legend: str = "", *, instant: bool = False, ref: str = "A") -> Json:
    t: Json = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref}
    if instant:
        t |= {"instant": True, "range": False, "format": "time_series"}
    else:
        t |= {"instant": False, "range": True}
    return t


def targets(*pairs: tuple[str, str], instant: bool = False) -> list[Json]:
    return [
        target(expr, legend, instant=instant, ref=chr(ord("A") + i))
        for i, (expr, legend) in enumerate(pairs)
    ]


def _panel(kind: str, title: str, description: str, tgts: list[Json], w: int, h: int) -> Json:
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": tgts,
        "gridPos": {"h": h, "w": w, "x": 0, "y": 0},  # laid out by Layout
    }


def _field_defaults(unit: str, thr: Json | None, mappings: list[Json] | None, **extra: Any) -> Json:
    defaults: Json = {"unit": unit, "mappings": mappings or []}
    defaults["thresholds"] = thr or thresholds((None, GREEN))
    return defaults | extra


def stat(
    title: str,
    description: str,
    tgts: list[Json],
    *,
    unit: str = "none",
    thr: Json | None = None,
    mappings: list[Json] | None = None,
    color_mode: str = "value",
    text_mode: str = "auto",
    w: int = 4,
    h: int = 5,
    decimals: int | None = None,
) -> Json:
    extra: Json = {"color": {"mode": "thresholds"}}
    if decimals is not None:
        extra["decimals"] = decimals
    return _panel("stat", title, description, tgts, w, h) | {
        "fieldConfig": {"defaults": _field_defaults(unit, thr, mappings, **extra), "overrides": []},
        "options": {
            "colorMode": color_mode,
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "percentChangeColorMode": "standard",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showPercentChange": False,
            "textMode": text_mode,
            "wideLayout": True,
        },
    }


def timeseries(
    title: str,
    description: str,
    tgts: list[Json],
    *,
    unit: str = "none",
    stack: bool = False,
    thr: Json | None = None,
    thr_style: str = "off",
    w: int = 12,
    h: int = 8,
    min_zero: bool = True,
    soft_max: float | None = None,
) -> Json:
    custom: Json = {
        "drawStyle": "line",
        "lineInterpolation": "stepAfter",
        "lineWidth": 1,
        "fillOpacity": 30 if stack else 0,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": thr_style},
    }
    if soft_max is not None:
        custom["axisSoftMax"] = soft_max  # keep a limit line in view
    extra: Json = {"color": {"mode": "palette-classic"}, "custom": custom}
    if min_zero:
        extra["min"] = 0
    return _panel("timeseries", title, description, tgts, w, h) | {
        "fieldConfig": {"defaults": _field_defaults(unit, thr, None, **extra), "overrides": []},
        "options": {
            "legend": {
                "calcs": [],
                "displayMode": "list",
                "placement": "bottom",
                "showLegend": True,
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def bargauge(
    title: str,
    description: str,
    tgts: list[Json],
    *,
    unit: str = "none",
    thr: Json | None = None,
    mappings: list[Json] | None = None,
    w: int = 12,
    h: int = 8,
) -> Json:
    return _panel("bargauge", title, description, tgts, w, h) | {
        "fieldConfig": {
            "defaults": _field_defaults(unit, thr, mappings, color={"mode": "thresholds"}, min=0),
            "overrides": [],
        },
        "options": {
            "displayMode": "basic",
            "legend": {
                "calcs": [],
                "displayMode": "list",
                "placement": "bottom",
                "showLegend": False,
            },
            "maxVizHeight": 300,
            "minVizHeight": 16,
            "minVizWidth": 8,
            "namePlacement": "left",
            "orientation": "horizontal",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showUnfilled": True,
            "sizing": "auto",
            "valueMode": "color",
        },
    }


def piechart(title: str, description: str, tgts: list[Json], *, w: int = 6, h: int = 8) -> Json:
    return _panel("piechart", title, description, tgts, w, h) | {
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "palette-classic"},
                "custom": {"hideFrom": {"legend": False, "tooltip": False, "viz": False}},
                "mappings": [],
                "unit": "none",
            },
            "overrides": [],
        },
        "options": {
            "displayLabels": ["name", "value"],
            "legend": {
                "calcs": [],
                "displayMode": "list",
                "placement": "right",
                "showLegend": True,
                "values": ["value"],
            },
            "orientation": "auto",
            "pieType": "donut",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "sort": "desc",
            "tooltip": {"mode": "single", "sort": "none"},
        },
    }


def value_text(value: str, text: str, color: str) -> Json:
    return {"type": "value", "options": {value: {"text": text, "color": color, "index": 0}}}


def nan_text(text: str) -> Json:
    return {"type": "special", "options": {"match": "nan", "result": {"text": text, "index": 0}}}


def row(title: str) -> Json:
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "panels": [],
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
    }


class Layout:
    """Places panels left to right, wrapping at Grafana's 24 columns, and numbers them."""

    def __init__(self) -> None:
        self.panels: list[Json] = []
        self.x = self.y = self.row_h = 0

    def add(self, *panels: Json) -> None:
        for p in panels:
            pos = p["gridPos"]
            if p["type"] == "row" or self.x + pos["w"] > 24:
                self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
            pos["x"], pos["y"] = self.x, self.y
            p["id"] = len(self.panels) + 1
            self.panels.append(p)
            self.x += pos["w"]
            self.row_h = max(self.row_h, pos["h"])
            if p["type"] == "row":
                self.x, self.y, self.row_h = 0, self.y + 1, 0


def health_panels() -> list[Json]:
    rps = f"sum by (key) (rate(neon_exporter_api_requests_total{{{K}}}[$__rate_interval]))"
    return [
        stat(
            "API key valid",
            "Does Neon still accept each API key? VALID while Neon accepts the key; REJECTED "
            "after Neon answered 401 (key revoked, deleted or mistyped). A rejected key's projects "
            "keep their last values only until poll_max_age, then vanish from this dashboard. "
            "Fix: create a new key in the Neon Console and update the secret the exporter reads; "
            "the key turns VALID again at the next key check." + _see("NeonApiKeyInvalid"),
            targets((f"max by (key) (neon_api_key_valid{{{K}}})", "{{key}}"), instant=True),
            thr=thresholds((None, RED), (1, GREEN)),
            mappings=[value_text("1", "VALID", GREEN), value_text("0", "REJECTED", RED)],
            color_mode="background",
            text_mode="value_and_name",
            w=6,
        ),
        stat(
            "Time since last 401",
            "When did Neon last reject each key? Time since the last 401 answer for the key; "
            "'never' if Neon has not rejected it since the exporter started. A recent value with "
            "the key VALID again means a key was rotated or briefly revoked: check that whoever "
            "revoked it meant to." + _see("NeonApiKeyInvalid"),
            targets(
                (
                    "time() - max by (key) "
                    f"(neon_api_key_last_rejected_timestamp_seconds{{{K}}})"
                    f" or max by (key) (neon_api_key_valid{{{K}}}) * 0 - 1",
                    "{{key}}",
                ),
                instant=True,
            ),
            unit="s",
            thr=thresholds((None, GREEN)),
            mappings=[value_text("-1", "never", GREEN)],
            text_mode="value_and_name",
            w=6,
        ),
        stat(
            "Poll success",
            "Did the last poll of each key complete? FAILING means the last poll hit an error "
            "(5xx, timeout, malformed answer, or a 401): the exporter keeps serving the last good "
            "data. Check the exporter's log for the key's 'poll failed' lines and Neon's status "
            "page." + _see("NeonExporterPollFailing"),
            targets((f"min by (key) (neon_exporter_poll_success{{{K}}})", "{{key}}"), instant=True),
            thr=thresholds((None, RED), (1, GREEN)),
            mappings=[value_text("1", "OK", GREEN), value_text("0", "FAILING", RED)],
            color_mode="background",
            text_mode="value_and_name",
            w=6,
        ),
        stat(
            "Data age",
            "How fresh is each key's data? Time since the key's last successful poll. It should "
            "stay below two poll intervals; past poll_max_age (10m by default) the key's series "
            "are dropped. If it grows, see Poll success and the exporter's log."
            + _see("NeonExporterDataStale"),
            targets(
                (
                    "time() - max by (key) "
                    f"(neon_exporter_poll_last_success_timestamp_seconds{{{K}}})",
                    "{{key}}",
                ),
                instant=True,
            ),
            unit="s",
            thr=thresholds((None, GREEN), (300, YELLOW), (600, RED)),
            text_mode="value_and_name",
            w=6,
        ),
        timeseries(
            "Neon API requests by status code",
            "What does Neon answer the exporter? Requests per second to the Neon API by HTTP "
            "status code (or timeout / error), for the selected keys. Mostly 2xx is healthy; "
            "401 means a key was rejected, 429 rate limiting, 5xx / timeout trouble at Neon or "
            "on the network." + _see("NeonExporterPollFailing"),
            targets(
                (
                    f"sum by (code) (rate(neon_exporter_api_requests_total{{{K}}}"
                    "[$__rate_interval]))",
                    "{{code}}",
                )
            ),
            unit="reqps",
            stack=True,
            w=8,
        ),
        timeseries(
            "Neon API requests per key: spent vs budget",
            "Is each key spending within its request budget, and how close is it to Neon's rate "
            "limit? Requests per minute each key spent (solid) against its budget "
            "(--neon.max-requests-per-minute, 300 by default); the red dashed line is Neon's "
            "700 per minute per account, shared with the Neon Console and your own automation. "
            "With HA replicas both lines add up the replicas: each spends its own budget on the "
            "same account. Spending sits at the budget while a large account's details are "
            "refreshed (see Detail freshness); if the budget nears 700, or 429s appear, lower "
            "the budget or lengthen --poll.interval.",
            targets(
                (f"{rps} * 60", "{{key}} spent"),
                (
                    f"sum by (key) (neon_exporter_api_budget_requests_per_minute{{{K}}})",
                    "{{key}} budget",
                ),
            ),
            unit="suffix: req/min",
            thr=thresholds((None, GREEN), (700, RED)),
            thr_style="dashed",
            soft_max=700,
            w=8,
        ),
        timeseries(
            "Rate-limited (429) answers per key",
            "Is Neon throttling the exporter? 429 answers per second per key (0 when none). The "
            "exporter retries them with backoff, but a steady rate slows polls and eats the "
            "account's shared budget: lower --neon.max-requests-per-minute or lengthen "
            "--poll.interval, and look for other clients using the same account.",
            targets(
                (
                    "sum by (key) (rate(neon_exporter_api_requests_total"
                    f'{{{K},code="429"}}[$__rate_interval])) or {rps} * 0',
                    "{{key}}",
                )
            ),
            unit="reqps",
            thr=thresholds((None, GREEN), (0.01, RED)),
            thr_style="line",
            w=8,
        ),
        timeseries(
            "Poll duration",
            "How long does one poll of each key take? A poll lists projects, then refreshes "
            "per-project details (endpoints, branches, usage) as far as the request budget "
            "allows before the next poll is due and carries the rest over, so on a large "
            "account it fills most of --poll.interval by design (see Detail freshness). On a "
            "small account a long poll means Neon answers slowly: check Neon's status page.",
            targets((f"max by (key) (neon_exporter_poll_duration_seconds{{{K}}})", "{{key}}")),
            unit="s",
            w=8,
        ),
        timeseries(
            "Detail freshness",
            "How stale is the stalest per-project detail? Time since the oldest detail of each "
            "kind (endpoints, branches, usage) was fetched, per key. Details are refreshed "
            "within the request budget, most urgent first, so on a large account this grows "
            "to about projects x kinds / budget minutes; usage is refreshed every "
            "usage_interval (15m). If it keeps growing, raise --neon.max-requests-per-minute "
            "(within Neon's 700/min) or turn off collectors you do not need.",
            targets(
                (
                    "time() - max by (key, kind) "
                    f"(neon_exporter_detail_oldest_timestamp_seconds{{{K}}})",
                    "{{key}} {{kind}}",
                )
            ),
            unit="s",
            w=8,
        ),
        stat(
            "Projects without detail",
            "How many projects have no detail of each kind yet? New projects and, on a large "
            "account, the first polls after start. Their endpoint, branch or usage series are "
            "missing until it reaches 0; if it stays above 0, see Detail freshness.",
            targets(
                (
                    f"max by (key, kind) (neon_exporter_detail_unfetched_projects{{{K}}})",
                    "{{key}} {{kind}}",
                ),
                instant=True,
            ),
            thr=thresholds((None, GREEN), (1, YELLOW)),
            text_mode="value_and_name",
            w=4,
            h=8,
        ),
        stat(
            "Exporter version",
            "Which neon-exporter (and Python) runs behind this dashboard? One entry per version "
            "seen; two entries mean replicas run different versions.",
            targets(
                (
                    "count by (version, python_version) (neon_exporter_build_info)",
                    "{{version}} (Python {{python_version}})",
                ),
                instant=True,
            ),
            text_mode="name",
            w=4,
            h=8,
        ),
    ]


def project_panels() -> list[Json]:
    size = f"max by (project_id) (neon_project_size_bytes{{{P}}})"
    names = f"max by (project_id, project_name) (neon_project_info{{{P}}})"
    state = f"max by (project_id, state) (neon_project_state{{{P}}})"
    pooler = f"max by (project_id) (neon_project_pooler_enabled{{{P}}})"
    return [
        stat(
            "Projects per key",
            "How many projects does each API key see? From the key's last good poll. A sudden "
            "drop means projects were deleted or moved, or the key lost access to an "
            "organization.",
            targets((f"max by (key) (neon_projects{{{K}}})", "{{key}}"), instant=True),
            text_mode="value_and_name",
            w=6,
        ),
        stat(
            "Projects (distinct)",
            "How many distinct projects are selected? A project seen by two keys counts once.",
            targets((f"count({names})", "projects"), instant=True),
            w=3,
        ),
        stat(
            "Total project size",
            "How much storage do the selected projects use together? Sum of each project's "
            "storage size (Neon's synthetic storage size).",
            targets((f"sum({size})", "total"), instant=True),
            unit="bytes",
            w=3,
        ),
        stat(
            "Projects stuck in init",
            "Are projects stuck starting? Projects whose state is init (a compute that is "
            "starting). A value that stays above 0 for minutes means computes do not come up: "
            "check the projects' endpoints in the Neon Console and Neon's status page.",
            targets(
                (
                    "sum(max by (project_id) "
                    f'(neon_project_state{{{P},state="init"}})) or vector(0)',
                    "init",
                ),
                instant=True,
            ),
            thr=thresholds((None, GREEN), (1, YELLOW)),
            w=3,
        ),
        stat(
            "Pooler coverage",
            "What share of projects (and computes) has connection pooling enabled? Serverless "
            "and many-client workloads should connect through the pooler; a low share may mean "
            "connection limits will bite.",
            targets(
                (f"sum({pooler}) / count({pooler})", "projects"),
                (
                    "sum(max by (project_id, endpoint_id) (neon_endpoint_pooler_enabled"
                    f"{{{P}}})) / count(max by (project_id, endpoint_id) "
                    f"(neon_endpoint_pooler_enabled{{{P}}}))",
                    "computes",
                ),
                instant=True,
            ),
            unit="percentunit",
            text_mode="value_and_name",
            decimals=0,
            w=9,
        ),
        timeseries(
            "Projects by state",
            "How many projects are active, idle or starting (init) over time? A project is "
            "active while any of its computes is active. Many projects stuck in init means "
            "computes are not starting.",
            targets((f"sum by (state) ({state})", "{{state}}")),
            stack=True,
            w=12,
        ),
        bargauge(
            "Top 10 projects by size",
            "Which projects use the most storage? Neon's synthetic storage size, now. Compare "
            "with your plan's storage limit; prune branches or history of the largest ones.",
            targets(
                (
                    f"topk(10, {size} * on (project_id) group_left (project_name) {names})",
                    "{{project_name}} ({{project_id}})",
                ),
                instant=True,
            ),
            unit="bytes",
            w=12,
        ),
        timeseries(
            "Project size over time",
            "How fast does each selected project grow? Storage size per project (pick projects "
            "with the project variable when there are many). A steep rise means a write-heavy "
            "job or retained history: check before a size limit is hit.",
            targets(
                (
                    f"{size} * on (project_id) group_left (project_name) {names}",
                    "{{project_name}}",
                )
            ),
            unit="bytes",
            w=12,
        ),
        piechart(
            "Postgres versions",
            "Which Postgres major versions do the selected projects run? Plan upgrades of "
            "projects on versions nearing end of life.",
            targets(
                (
                    "count by (pg_version) (max by (project_id, pg_version) "
                    f"(neon_project_info{{{P}}}))",
                    "PG {{pg_version}}",
                ),
                instant=True,
            ),
        ),
        piechart(
            "Projects by region",
            "Where do the selected projects run? Projects per Neon region (cloud provider and "
            "location); check that data stays where it must.",
            targets(
                (
                    "count by (region_id) (max by (project_id, region_id) "
                    f"(neon_project_info{{{P}}}))",
                    "{{region_id}}",
                ),
                instant=True,
            ),
        ),
    ]


def compute_panels() -> list[Json]:
    def per_ep(metric: str) -> str:
        return f"max by (project_id, endpoint_id) ({metric}{{{P}}})"

    state = f"max by (project_id, endpoint_id, state) (neon_endpoint_state{{{P}}})"
    return [
        stat(
            "Computes by type",
            "How many read-write and read-only computes are selected?",
            targets(
                (
                    "count by (endpoint_type) (max by (project_id, endpoint_id, endpoint_type) "
                    f"(neon_endpoint_info{{{P}}}))",
                    "{{endpoint_type}}",
                ),
                instant=True,
            ),
            text_mode="value_and_name",
            w=6,
        ),
        stat(
            "Computes that never suspend",
            "How many computes run around the clock? Computes whose suspend timeout is -1 "
            "(never suspend) bill compute time all the time; make sure each one is meant to.",
            targets(
                (
                    f"count({per_ep('neon_endpoint_suspend_timeout_seconds')} == -1) or vector(0)",
                    "never suspend",
                ),
                instant=True,
            ),
            thr=thresholds((None, GREEN), (1, YELLOW)),
            w=6,
        ),
        stat(
            "Autoscaling floor and ceiling",
            "How much compute can the selected computes use? Sum of autoscaling minimums (what "
            "they use when awake) and maximums (the most they can scale to at once), in compute "
            "units (CU). The ceiling bounds the worst-case compute bill.",
            targets(
                (f"sum({per_ep('neon_endpoint_autoscaling_limit_min_cu')})", "min CU (sum)"),
                (f"sum({per_ep('neon_endpoint_autoscaling_limit_max_cu')})", "max CU (sum)"),
                instant=True,
            ),
            text_mode="value_and_name",
            decimals=2,
            w=12,
        ),
        timeseries(
            "Computes by state",
            "How many compute endpoints are active, idle (suspended) or starting (init)? "
            "Computes that stay in init for minutes do not come up: check them in the Neon "
            "Console and Neon's status page.",
            targets((f"sum by (state) ({state})", "{{state}}")),
            stack=True,
            w=12,
        ),
        bargauge(
            "Computes by autoscaling limit",
            "How are the selected computes sized? Number of computes per autoscaling maximum "
            "(and minimum) in compute units. Computes at a high maximum can scale the bill up.",
            targets(
                (
                    f'count_values("cu", {per_ep("neon_endpoint_autoscaling_limit_max_cu")})',
                    "max {{cu}} CU",
                ),
                (
                    f'count_values("cu", {per_ep("neon_endpoint_autoscaling_limit_min_cu")})',
                    "min {{cu}} CU",
                ),
                instant=True,
            ),
            w=12,
        ),
        bargauge(
            "Longest-idle computes",
            "Which computes have not been active for the longest time? Time since each "
            "compute was last active (top 10). Computes unused for weeks may belong to "
            "forgotten branches: candidates for deletion.",
            targets(
                (
                    f"topk(10, time() - {per_ep('neon_endpoint_last_active_timestamp_seconds')})",
                    "{{endpoint_id}} ({{project_id}})",
                ),
                instant=True,
            ),
            unit="s",
            w=24,
        ),
    ]


def usage_panels() -> list[Json]:
    def per_project(metric: str, scale: str = "") -> str:
        return f"max by (project_id) ({metric}{{{P}}}){scale}"

    names = f"max by (project_id, project_name) (neon_project_info{{{P}}})"
    needs = (
        " Billing-period values from Neon (refreshed every usage_interval, 15m by default); "
        "needs --collector.usage."
    )
    compute = per_project("neon_project_compute_time_seconds")
    active = per_project("neon_project_active_time_seconds")
    written = per_project("neon_project_written_data_bytes")
    # Neon reports storage in byte-hours (data_storage_bytes_hour); the exporter in byte-seconds.
    storage = per_project("neon_project_data_storage_byte_seconds", " / 3600")

    def top(metric: str) -> list[Json]:
        return targets(
            (
                f"topk(10, {metric} * on (project_id) group_left (project_name) {names})",
                "{{project_name}} ({{project_id}})",
            ),
            instant=True,
        )

    return [
        stat(
            "Compute time this period",
            "How much compute have the selected projects used this billing period? Sum of "
            "compute time (CPU seconds, roughly compute units x seconds active). It resets when a "
            "period starts; a faster climb than last period means bigger or longer-running "
            "computes: see Top 10 projects by compute time." + needs,
            targets((f"sum({compute})", "compute time"), instant=True),
            unit="s",
            w=6,
        ),
        stat(
            "Active time this period",
            "How long were the selected projects' computes awake this billing period? Sum of "
            "active time over projects. If it grows by about the elapsed time per project, "
            "computes hardly ever suspend: check suspend timeouts (Computes that never "
            "suspend) and what keeps connections open." + needs,
            targets((f"sum({active})", "active time"), instant=True),
            unit="s",
            w=6,
        ),
        stat(
            "Written data this period",
            "How much data (WAL) have the selected projects written this billing period? "
            "Written data is billed on some plans and grows history storage; a jump points at "
            "a bulk load or a write-heavy job: see Top 10 projects by written data." + needs,
            targets((f"sum({written})", "written"), instant=True),
            unit="bytes",
            w=6,
        ),
        stat(
            "Storage consumed this period",
            "How much storage have the selected projects consumed this billing period? Storage "
            "size integrated over time, in byte-hours (1 GB kept for 10 hours = 10 GB·h), as "
            "Neon bills it. Prune branches and history of the largest consumers (Top 10 "
            "projects by storage consumed). Data transfer is not shown: Neon's consumption "
            "history does not report it." + needs,
            targets((f"sum({storage})", "storage"), instant=True),
            unit="si:B·h",
            w=6,
        ),
        bargauge(
            "Top 10 projects by compute time",
            "Which projects used the most compute this billing period? Compute time (CPU "
            "seconds) per project. For the top ones check autoscaling limits and suspend "
            "timeouts, and whether the load is expected." + needs,
            top(compute),
            unit="s",
            w=8,
        ),
        bargauge(
            "Top 10 projects by written data",
            "Which projects wrote the most data this billing period? Written data (WAL) per "
            "project. An unexpected leader may run a runaway job or rewrite whole tables; "
            "written data also grows history storage." + needs,
            top(written),
            unit="bytes",
            w=8,
        ),
        bargauge(
            "Top 10 projects by storage consumed",
            "Which projects consumed the most storage this billing period? Byte-hours per "
            "project (size kept over time). Prune branches, shorten the history retention or "
            "delete unused projects at the top." + needs,
            top(storage),
            unit="si:B·h",
            w=8,
        ),
    ]


def branch_panels() -> list[Json]:
    needs = " Needs --collector.branches."
    branches = f"max by (project_id, branch_id, branch_name) (neon_branch_info{{{P}}})"
    names = f"max by (project_id, project_name) (neon_project_info{{{P}}})"
    size = f"max by (project_id, branch_id) (neon_branch_logical_size_bytes{{{P}}})"
    return [
        bargauge(
            "Branches per project",
            "Which projects have the most branches? Branch count per project (top 10). Many "
            "branches usually mean preview or CI branches that are never deleted; each keeps "
            "its own history and may count against the plan's branch limit." + needs,
            targets(
                (
                    f"topk(10, count by (project_id) ({branches}) * on (project_id) "
                    f"group_left (project_name) {names})",
                    "{{project_name}} ({{project_id}})",
                ),
                instant=True,
            ),
            w=8,
        ),
        bargauge(
            "Largest branches by logical size",
            "Which branches hold the most data? Logical size per branch (top 10). A branch "
            "whose size Neon has not computed yet (a new or empty one) reads 'not reported' and "
            "is listed only when fewer than 10 have a size. Large non-default branches are "
            "candidates for reset or deletion; a branch near the plan's logical size limit "
            "will refuse writes." + needs,
            targets(
                (
                    # NaN, not 0, for a size Neon does not report; topk ranks NaN last.
                    f"topk(10, {size} * on (project_id, branch_id) group_left (branch_name) "
                    f"{branches} or {branches} * NaN unless on (project_id, branch_id) {size})",
                    "{{branch_name}} ({{project_id}})",
                ),
                instant=True,
            ),
            unit="bytes",
            mappings=[nan_text("not reported")],
            w=10,
        ),
        piechart(
            "Branches by state",
            "What state are the selected branches in? ready is normal; archived branches are "
            "stored more cheaply and wake on first use; init or resetting for more than a few "
            "minutes means a stuck operation: check the branch in the Neon Console." + needs,
            targets(
                (
                    "count by (state) (max by (project_id, branch_id, state) "
                    f"(neon_branch_info{{{P}}}))",
                    "{{state}}",
                ),
                instant=True,
            ),
        ),
    ]


def variables() -> list[Json]:
    def query_var(name: str, label: str, query: str, description: str, regex: str = "") -> Json:
        return {
            "name": name,
            "label": label,
            "type": "query",
            "datasource": DS,
            "query": query,
            "regex": regex,
            "refresh": 2,  # on time range change: new keys and projects appear
            "sort": 1,
            "multi": True,
            "includeAll": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [],
            "description": description,
        }

    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "options": [],
            "regex": "",
            "description": "The Prometheus that scrapes neon-exporter.",
        },
        query_var(
            "key",
            "API key",
            "label_values(neon_exporter_poll_success, key)",
            "Configured key names (never the keys): filters the health panels.",
        ),
        query_var(
            "project",
            "Project",
            "query_result(max by (project_id, project_name) (neon_project_info))",
            "Neon projects, shown by name: filters the project, usage, compute and branch panels.",
            # query_result prints labels sorted: project_id comes before project_name.
            regex='/project_id="(?<value>[^"]*)",project_name="(?<text>[^"]*)"/',
        ),
    ]


def dashboard() -> Json:
    layout = Layout()
    layout.add(row("API keys and exporter health"), *health_panels())
    layout.add(row("Projects"), *project_panels())
    layout.add(row("Usage (billing period)"), *usage_panels())
    layout.add(row("Computes (endpoints)"), *compute_panels())
    layout.add(row("Branches"), *branch_panels())
    return {
        "uid": "neon-exporter",
        "title": "Neon (neon-exporter)",
        "description": "Neon projects, usage, computes, branches and API-key health from "
        "neon-exporter.",
        "tags": ["neon", "postgres", "neon-exporter"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "links": [
            {
                "title": "Alerts runbook",
                "type": "link",
                "icon": "doc",
                "url": ALERTS_DOC,
                "tooltip": "What each neon-exporter alert means and what to do",
                "asDropdown": False,
                "includeVars": False,
                "keepTime": False,
                "tags": [],
                "targetBlank": True,
            }
        ],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": variables()},
        "panels": layout.panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: run python grafana/generate.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
