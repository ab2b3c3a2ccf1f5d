"""Panel builders: plain Grafana JSON, one call per panel (no SDK).

A builder returns a panel whose gridPos carries only its size; the Layout in dashboard.py places
it. Constants here are shared by every row: the datasource variable, the `$key` and `$project`
matchers, colours and the runbook link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

ALERTS_DOC = "https://github.com/neon-exporter/neon-exporter/blob/main/docs/alerts.md"
DS: Json = {"type": "prometheus", "uid": "${datasource}"}
K = 'key=~"$key"'
P = 'project_id=~"$project"'

GREEN, YELLOW, RED = "green", "#EAB839", "red"

# Project names, for joining onto any per-project series with `group_left (project_name)`.
PROJECT_NAMES = f"max by (project_id, project_name) (neon_project_info{{{P}}})"
PROJECT_LEGEND = "{{project_name}} ({{project_id}})"


def named(expr: str) -> str:
    """`expr` (one series per project_id) labelled with each project's name."""
    return f"{expr} * on (project_id) group_left (project_name) {PROJECT_NAMES}"


def see(anchor: str) -> str:
    """A description's closing link to the alert's section of docs/alerts.md."""
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
    """One target per (expr, legend) pair, with refIds A, B, ..."""
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


def _line_style(stack: bool, thr_style: str, soft_max: float | None) -> Json:
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
    return custom


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
    custom = _line_style(stack, thr_style, soft_max)
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


@dataclass(frozen=True)
class Row:
    """A dashboard row: its title and the function that builds its panels, left to right."""

    title: str
    panels: Callable[[], list[Json]]

    def header(self) -> Json:
        return {
            "type": "row",
            "title": self.title,
            "collapsed": False,
            "panels": [],
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
        }
