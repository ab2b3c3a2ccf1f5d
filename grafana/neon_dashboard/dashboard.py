"""The whole dashboard: settings, links, variables, and the rows of rows.ROWS laid out on
Grafana's 24-column grid."""

from __future__ import annotations

import json

from neon_dashboard.panels import ALERTS_DOC, Json
from neon_dashboard.rows import ROWS, quotas
from neon_dashboard.variables import variables

SCHEMA_VERSION = 39  # Grafana 10.4 / 11; newer Grafana migrates it on load


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


def _links() -> list[Json]:
    return [
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
    ]


def _annotations() -> Json:
    return {
        "list": [
            {
                "builtIn": 1,
                "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": True,
                "hide": True,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            },
            quotas.maintenance_annotation(),
        ]
    }


def _panels() -> list[Json]:
    layout = Layout()
    for r in ROWS:
        layout.add(r.header(), *r.panels())
    return layout.panels


def dashboard() -> Json:
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
        "links": _links(),
        "annotations": _annotations(),
        "templating": {"list": variables()},
        "panels": _panels(),
    }


def render() -> str:
    """The dashboard JSON as committed: sorted keys, so a diff shows only what changed."""
    return json.dumps(dashboard(), indent=2, sort_keys=True) + "\n"
