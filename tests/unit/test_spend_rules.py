"""The example spend rules: estimated spend from the usage gauges and a price list, and an alert
at a share of the spending limit. Runs promtool (``make system-deps``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "neon-exporter-spend.yml"
RUNBOOK_URL = "https://github.com/neon-exporter/neon-exporter/blob/main/docs/alerts.md"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    path = shutil.which("promtool")
    assert path is not None, "promtool is not installed: run `make system-deps`"
    return subprocess.run(
        [path, *args], capture_output=True, text=True, timeout=60, check=False, cwd=PROMETHEUS_DIR
    )


def test_spend_rules_check_and_their_tests_pass() -> None:
    """`promtool check rules` and the promtool cases (the estimate's value; the alert firing
    above the threshold after 30m, silent below it and without a limit)."""
    check = promtool("check", "rules", RULES.name)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = promtool("test", "rules", "neon-exporter-spend.test.yml")
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_spend_alert_is_annotated_with_its_runbook() -> None:
    doc = yaml.safe_load(RULES.read_text())
    (alert,) = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert alert["alert"] == "NeonSpendNearLimit"
    assert set(alert["annotations"]) >= {"summary", "description", "runbook_url"}
    assert "$labels.org_id" in alert["annotations"]["description"]
    assert alert["annotations"]["runbook_url"] == f"{RUNBOOK_URL}#neonspendnearlimit"
    runbook = (ROOT / "docs" / "alerts.md").read_text()
    assert re.search(r"^## NeonSpendNearLimit$", runbook, flags=re.M)


def test_spend_rules_use_only_metrics_the_demo_serves() -> None:
    """Every neon_* series the rules read is in `neon-exporter once --demo` (usage-based plan)."""
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
    used = set(re.findall(r"\bneon_(?!org|price)\w+", RULES.read_text())) - {"neon_exporter"}
    assert used <= served, used - served
