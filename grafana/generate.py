"""Generates grafana/dashboards/neon-exporter.json: the dashboard is code, the JSON is its output.

    python grafana/generate.py           # rewrite the JSON after changing grafana/neon_dashboard/
    python grafana/generate.py --check   # exit 1 if the committed JSON is not the code's output

Plain Python (no SDK): the code is grafana/neon_dashboard/ (panel builders in panels.py, one
module per row in rows/; its docstring says how to add a row and the query conventions).
tests/unit/test_dashboard_schema.py checks the output against Grafana's own schema
(grafana/schema/) and that the committed JSON is current; tests/e2e/test_dashboard_queries.py
runs every query against a real Prometheus scraping the exporter's demo mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

from neon_dashboard import render

OUT = Path(__file__).resolve().parent / "dashboards" / "neon-exporter.json"


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
