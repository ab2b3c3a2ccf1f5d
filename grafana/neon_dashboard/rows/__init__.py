"""The dashboard's rows, top to bottom. A row is one module here defining `ROW`; adding one is a
new module and one entry in ROWS."""

from __future__ import annotations

from neon_dashboard.panels import Row
from neon_dashboard.rows import api_keys, branches, computes, health, projects, usage

ROWS: tuple[Row, ...] = (
    health.ROW,
    projects.ROW,
    usage.ROW,
    computes.ROW,
    branches.ROW,
    api_keys.ROW,
)
