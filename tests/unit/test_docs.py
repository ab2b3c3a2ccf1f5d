"""What a newcomer and an operator read stays true: tables and claims of README.md and docs/
checked against what ships (alert rules, settings, --help)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from exporter.settings import BY_NAME

ROOT = Path(__file__).resolve().parents[2]
ALERTS_DOC = ROOT / "docs" / "alerts.md"
RULE_FILES = (
    ROOT / "deploy" / "prometheus" / "neon-exporter-alerts.yml",
    ROOT / "deploy" / "prometheus" / "neon-exporter-spend.yml",
)


def _section(text: str, heading: str) -> str:
    """The text under ``## heading`` up to the next ``## ``."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


def _shipped_alerts() -> dict[str, tuple[str, str]]:
    """Every alert of the shipped rule files: name -> (severity, `for` or "at once")."""
    shipped: dict[str, tuple[str, str]] = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    after = str(rule.get("for", "")) or "at once"
                    shipped[rule["alert"]] = (rule["labels"]["severity"], after)
    return shipped


def test_alerts_table_lists_exactly_the_shipped_alerts() -> None:
    """docs/alerts.md's table has one row per shipped alert, with its severity and `for`."""
    rows = re.findall(
        r"^\| \[(\w+)\]\(#(\w+)\) \| (\w+) \| .* \| ([^|]+) \|$",
        ALERTS_DOC.read_text(),
        re.MULTILINE,
    )
    table = {name: (severity, after.strip()) for name, _, severity, after in rows}
    assert len(table) == len(rows), "an alert is in the table twice"
    assert all(anchor == name.lower() for name, anchor, _, _ in rows)
    assert table == _shipped_alerts()


def test_fire_drill_states_the_demos_own_key_check_interval() -> None:
    """The fire drill says how often the demo checks its key, as the settings table has it,
    and never asks for a flag value that is already the demo's default."""
    drill = " ".join(_section(ALERTS_DOC.read_text(), "Fire drill").split())
    demo_default = BY_NAME["key_check_interval"].demo
    assert f"checks its key every {demo_default} (its default `--key-check.interval`)" in drill
    assert f"--key-check.interval {demo_default}" not in drill
    assert f"--key-check.interval={demo_default}" not in drill


def test_project_count_runbook_and_metric_name_the_selection() -> None:
    """neon_projects counts the selected projects: metrics.md says so, and the runbook of
    NeonProjectCountDropped lists a narrowed selection as a cause."""
    flags = ("--projects.include", "--projects.exclude", "--projects.org-ids")
    runbook = _section(ALERTS_DOC.read_text(), "NeonProjectCountDropped")
    (row,) = [
        line
        for line in (ROOT / "docs" / "metrics.md").read_text().splitlines()
        if line.startswith("| `neon_projects` |")
    ]
    for text in (runbook, row):
        assert all(f"`{flag}`" in text for flag in flags)
