"""The usage-based plans' metric names: the exporter's list, the simulator's and Neon's document
name the same eight."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from exporter.neon.metered import METRICS
from exporter.simulator.billing import V2_METRICS

OPENAPI = Path(__file__).resolve().parents[1] / "data" / "neon-api-v2.official.yaml"


def documented_metrics() -> set[str]:
    """The "Supported values" of the ``metrics`` parameter of GET /consumption_history/v2/projects
    (Neon's document lists them in the description: the schema has no enum)."""
    doc = yaml.safe_load(OPENAPI.read_text())
    route = doc["paths"]["/consumption_history/v2/projects"]["get"]
    (param,) = [p for p in route["parameters"] if p.get("name") == "metrics"]
    supported = param["description"].split("Supported values:", 1)[1].split("Pass multiple", 1)[0]
    return set(re.findall(r"- `([a-z_]+)`", supported))


def test_exporter_simulator_and_document_name_the_same_metrics() -> None:
    """A metric Neon adds or renames shows here, not as a silently missing series."""
    assert len(documented_metrics()) == 8
    assert set(METRICS) == documented_metrics()
    assert set(V2_METRICS) == documented_metrics()
