"""The example spend rules: estimated spend from the usage gauges and a price list, and an alert
at a share of the spending limit. Runs promtool (``make system-deps``)."""

from __future__ import annotations

import re

import yaml

from tests.rules import PROMETHEUS_DIR, RUNBOOK, RUNBOOK_URL, check_and_test, demo_series

RULES = PROMETHEUS_DIR / "neon-exporter-spend.yml"


def test_spend_rules_check_and_their_tests_pass() -> None:
    """`promtool check rules` and the promtool cases (the estimate's value; the alert firing
    above the threshold after 30m, silent below it and without a limit)."""
    check_and_test(RULES.name, "neon-exporter-spend.test.yml")


def test_spend_alert_is_annotated_with_its_runbook() -> None:
    doc = yaml.safe_load(RULES.read_text())
    (alert,) = [r for g in doc["groups"] for r in g["rules"] if "alert" in r]
    assert alert["alert"] == "NeonSpendNearLimit"
    assert set(alert["annotations"]) >= {"summary", "description", "runbook_url"}
    assert "$labels.org_id" in alert["annotations"]["description"]
    assert alert["annotations"]["runbook_url"] == f"{RUNBOOK_URL}#neonspendnearlimit"
    runbook = RUNBOOK.read_text()
    assert re.search(r"^## NeonSpendNearLimit$", runbook, flags=re.M)


def test_spend_rules_use_only_metrics_the_demo_serves() -> None:
    """Every neon_* series the rules read is in `neon-exporter once --demo` (usage-based plan)."""
    served = demo_series()
    used = set(re.findall(r"\bneon_(?!org|price)\w+", RULES.read_text())) - {"neon_exporter"}
    assert used <= served, used - served
