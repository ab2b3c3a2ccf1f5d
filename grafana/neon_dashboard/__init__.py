"""The neon-exporter Grafana dashboard as code; grafana/generate.py writes its JSON.

- panels.py: the panel builders (stat, timeseries, bargauge, piechart) and shared constants;
- rows/: one module per dashboard row, each defining `ROW`; rows/__init__.py lists them in order;
- variables.py: the datasource, `key` and `project` variables;
- dashboard.py: the dashboard around the rows, the grid layout and `render()`.

Adding a row: a new module in rows/ (one function per panel, `panels()` and `ROW`) and one entry
in ROWS. tests/unit/test_dashboard_schema.py fails on a row module missing from ROWS.

Query conventions (the tests check them):
- health series carry `key`: every selector of them has key=~"$key";
- data series carry `project_id`: every selector of them has project_id=~"$project";
- data series are first reduced with `max by (project_id, ...)`, so two exporter replicas scraped
  for HA never double a count;
- a panel that could honestly have no series in a healthy setup (no 401 yet, no 429 yet) has a
  fallback (`or ...`) so it shows a value, never "No data".
"""

from __future__ import annotations

from neon_dashboard.dashboard import dashboard, render

__all__ = ["dashboard", "render"]
