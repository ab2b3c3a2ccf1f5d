"""The example recording rules joining Neon's own compute metrics (its metrics export) with
the exporter's series: promtool's check and cases, and the exporter's side of every join being
series the exporter serves. A real Prometheus runs them in tests/e2e/test_dashboard_queries.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "neon-exporter-compute.yml"
NEON_EXPORT = {  # names of Neon's metrics export, not the exporter's
    "neon_connection_counts",
    "neon_db_total_size",
    "neon_lfc_hits",
    "neon_lfc_misses",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    assert path is not None, "promtool is not installed: run `make system-deps`"
    return subprocess.run(
        [path, *args], capture_output=True, text=True, timeout=60, check=False, cwd=PROMETHEUS_DIR
    )


def test_compute_rules_check_and_their_tests_pass() -> None:
    """Each join's value with two exporter replicas scraping the same projects."""
    check = promtool("check", "rules", RULES.name)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = promtool("test", "rules", "neon-exporter-compute.test.yml")
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_compute_rules_join_on_series_the_demo_serves() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "once", "--demo", "--log.level", "error"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    served = set(re.findall(r"^(neon_\w+)\{", result.stdout, flags=re.MULTILINE))
    text = RULES.read_text()
    recorded = set(re.findall(r"record: (\S+)", text))
    used = set(re.findall(r"(?<![:\w])neon_\w+(?![:\w])", text)) - NEON_EXPORT
    assert used, "no exporter series read"
    assert used <= served, used - served
    assert all(name.count(":") == 2 for name in recorded)  # level:metric:operations
