"""The shipped alerting: Prometheus rules and config, their promtool tests, Alertmanager config.

Runs promtool and amtool (Debian packages, installed by ``make system-deps``); a missing
binary fails these tests.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.rules import PROMETHEUS_DIR, ROOT, RUNBOOK, RUNBOOK_URL, demo_series, run

RULES = PROMETHEUS_DIR / "neon-exporter-alerts.yml"
RULE_TESTS = PROMETHEUS_DIR / "neon-exporter-alerts.test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
# The alert names docs/alerts.md calls public (users' routes and silences name them).
PUBLIC_ALERTS = {
    "NeonApiKeyInvalid",
    "NeonExporterPollFailing",
    "NeonExporterDataStale",
    "NeonExporterDown",
}
RECEIVER_FOR = {"critical": "neon-critical", "warning": "neon-warning"}
RECEIVER_FOR["info"] = "neon-warning"  # informational (a new API key): never the pager


@cache
def alerts() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return {
        rule["alert"]: rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule
    }


def test_promtool_check_config() -> None:
    """The example prometheus.yml, and the rules file it loads, pass `promtool check config`."""
    result = run("promtool", "check", "config", PROMETHEUS_CONFIG.name, cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules() -> None:
    """The rules file passes `promtool check rules`."""
    result = run("promtool", "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    """Every alert's promtool unit tests pass: fires when it should, silent when it should not."""
    result = run("promtool", "test", "rules", RULE_TESTS.name, cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    """Each alert has a promtool case expecting it to fire and one expecting it silent."""
    doc = yaml.safe_load(RULE_TESTS.read_text())
    firing: set[str] = set()
    silent: set[str] = set()
    for case in doc["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    assert firing == set(alerts()), "alerts never expected to fire"
    assert silent == set(alerts()), "alerts never expected to stay silent"


def test_public_alerts_exist() -> None:
    """The public alert names docs/alerts.md lists are all defined."""
    assert set(alerts()) >= PUBLIC_ALERTS


def test_key_invalid_fires_without_delay() -> None:
    """NeonApiKeyInvalid is `neon_api_key_valid == 0`, critical, with no `for` delay."""
    rule = alerts()["NeonApiKeyInvalid"]
    assert rule["expr"].strip() == "neon_api_key_valid == 0"
    assert rule.get("for", "0s") in ("0s", "0m", "0")
    assert rule["labels"]["severity"] == "critical"


@pytest.mark.parametrize("name", sorted(alerts()))
def test_alert_is_annotated(name: str) -> None:
    """summary, description naming the key or project, severity, and its runbook section."""
    rule = alerts()[name]
    annotations = rule["annotations"]
    assert set(annotations) >= {"summary", "description", "runbook_url"}
    assert rule["labels"]["severity"] in RECEIVER_FOR
    assert re.search(
        r"\$labels\.(key|project_id|project_name|endpoint_id|instance)", annotations["description"]
    )
    assert annotations["runbook_url"] == f"{RUNBOOK_URL}#{name.lower()}"


def test_runbook_has_a_section_per_alert() -> None:
    """docs/alerts.md has a `## AlertName` heading (the runbook_url anchor) for every alert,
    and a fire drill section."""
    headings = re.findall(r"^## (\S.*)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    assert set(alerts()) <= set(headings)
    assert any("fire drill" in h.lower() for h in headings)


def test_rules_use_only_exported_metrics() -> None:
    """Every neon_* metric a rule uses is in the exposition of `neon-exporter once --demo`."""
    exposed = demo_series()
    used = set(re.findall(r"\bneon_\w+", RULES.read_text()))
    used -= {"neon_exporter"}  # the job name, in comments and NeonExporterDown
    assert used <= exposed, used - exposed


def test_amtool_check_config() -> None:
    """The example alertmanager.yml passes `amtool check-config`."""
    result = run("amtool", "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def test_commented_receivers_are_valid(tmp_path: Path) -> None:
    """The commented PagerDuty and Slack examples are valid config once uncommented."""
    text = ALERTMANAGER_CONFIG.read_text()
    text = re.sub(r"^    # (?=(pagerduty_configs|slack_configs|  ))", "    ", text, flags=re.M)
    secrets = "/etc/alertmanager/secrets/"
    assert secrets in text
    (tmp_path / "pagerduty-routing-key").write_text("0123456789abcdef0123456789abcdef\n")
    (tmp_path / "slack-webhook-url").write_text("https://hooks.slack.com/services/T0/B0/x\n")
    config = tmp_path / "alertmanager.yml"
    config.write_text(text.replace(secrets, f"{tmp_path}/"))
    receivers = yaml.safe_load(config.read_text())["receivers"]
    assert {k for r in receivers for k in r} >= {"pagerduty_configs", "slack_configs"}
    result = run("amtool", "check-config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(alerts()))
def test_alert_routes_to_its_severity_receiver(name: str) -> None:
    """Each alert, labelled as its rule labels it, reaches the receiver for its severity."""
    severity = alerts()[name]["labels"]["severity"]
    result = run(
        "amtool",
        "config",
        "routes",
        "test",
        "--config.file",
        str(ALERTMANAGER_CONFIG),
        f"alertname={name}",
        f"severity={severity}",
        "key=prod",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [RECEIVER_FOR[severity]]


def test_critical_route_is_fast() -> None:
    """The route critical alerts take waits at most 10s before the first notification."""
    route = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())["route"]
    (critical,) = (r for r in route["routes"] if r["receiver"] == RECEIVER_FOR["critical"])
    assert critical["matchers"] == ['severity="critical"']
    wait = critical["group_wait"]
    assert re.fullmatch(r"\d+s", wait)
    assert int(wait[:-1]) <= 10
