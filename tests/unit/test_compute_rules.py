"""The example recording rules joining Neon's own compute metrics (its metrics export) with
the exporter's series: promtool's check and cases, and the exporter's side of every join being
series the exporter serves. A real Prometheus runs them in tests/e2e/test_dashboard_queries.py."""

from __future__ import annotations

import re

from tests.rules import PROMETHEUS_DIR, check_and_test, demo_series

RULES = PROMETHEUS_DIR / "neon-exporter-compute.yml"
NEON_EXPORT = {  # names of Neon's metrics export, not the exporter's
    "neon_connection_counts",
    "neon_db_total_size",
    "neon_lfc_hits",
    "neon_lfc_misses",
}


def test_compute_rules_check_and_their_tests_pass() -> None:
    """Each join's value with two exporter replicas scraping the same projects."""
    check_and_test(RULES.name, "neon-exporter-compute.test.yml")


def test_compute_rules_join_on_series_the_demo_serves() -> None:
    served = demo_series()
    text = RULES.read_text()
    recorded = set(re.findall(r"record: (\S+)", text))
    used = set(re.findall(r"(?<![:\w])neon_\w+(?![:\w])", text)) - NEON_EXPORT
    assert used, "no exporter series read"
    assert used <= served, used - served
    assert all(name.count(":") == 2 for name in recorded)  # level:metric:operations
