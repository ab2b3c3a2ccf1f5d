"""What a newcomer and an operator read stays true: tables and claims of README.md and docs/
checked against what ships (alert rules, settings, --help)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from exporter.config.helptext import EXIT_STATUS
from exporter.config.settings import BY_NAME, SETTINGS

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
    """The fire drill states the demo's own key-check interval and never asks for it as a flag."""
    drill = " ".join(_section(ALERTS_DOC.read_text(), "Fire drill").split())
    demo_default = BY_NAME["key_check_interval"].demo
    assert f"checks its key every {demo_default} (its default `--key-check.interval`)" in drill
    assert f"--key-check.interval {demo_default}" not in drill
    assert f"--key-check.interval={demo_default}" not in drill


def test_project_count_runbook_and_metric_name_the_selection() -> None:
    """metrics.md and NeonProjectCountDropped's runbook say neon_projects counts the selection."""
    flags = ("--projects.include", "--projects.exclude", "--projects.org-ids")
    runbook = _section(ALERTS_DOC.read_text(), "NeonProjectCountDropped")
    (row,) = [
        line
        for line in (ROOT / "docs" / "metrics.md").read_text().splitlines()
        if line.startswith("| `neon_projects` |")
    ]
    for text in (runbook, row):
        assert all(f"`{flag}`" in text for flag in flags)


README = ROOT / "README.md"
CONFIG_DOC = ROOT / "docs" / "configuration.md"
QUICK_START = "README.md#quick-start-with-a-real-key"


def _help() -> str:
    """`neon-exporter --help`, from the real CLI."""
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return proc.stdout


def test_help_names_the_key_variables_the_config_file_and_the_exit_status() -> None:
    """--help names every variable (the key ones too), the config file and the exit statuses."""
    text = _help()
    variables = {v for setting in SETTINGS for v in setting.env}
    assert {"NEON_API_KEY", "NEON_API_KEY_FILE", "NEON_API_URL"} <= variables
    assert [v for v in sorted(variables) if v not in text] == []
    assert "--config.file FILE" in text
    for command, meanings in EXIT_STATUS.items():
        line = f"  {command:<6} " + "; ".join(f"{code} {m}" for code, m in enumerate(meanings))
        assert line in text.splitlines(), line


def test_exit_status_table_says_what_the_cli_says() -> None:
    """docs/configuration.md's exit status table and --help's (helptext.EXIT_STATUS) agree."""
    section = _section(CONFIG_DOC.read_text(), "Exit status")
    rows = {}
    for line in section.splitlines():
        match = re.match(r"^\| `(?:neon-exporter` \((\w+)\)|(\w+)`) \|(.*)\|$", line)
        if match:
            command = match.group(1) or match.group(2)
            rows[command] = [c.strip().replace("**", "") for c in match.group(3).split("|")]
    assert rows.keys() == EXIT_STATUS.keys()
    for command, meanings in EXIT_STATUS.items():
        for cell, meaning in zip(rows[command], meanings, strict=True):
            assert cell.startswith(meaning), (command, cell, meaning)
    assert "make run ARGS=" in section, "the exit status through make is not explained"


def _code_lines(text: str) -> list[str]:
    """Lines of fenced and of 4-space-indented code blocks."""
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced or (line.startswith("    ") and not line.strip().startswith("-")):
            lines.append(line.strip())
    return lines


def test_readme_commands_work_as_written_after_make() -> None:
    """README commands call .venv/bin/neon-exporter or make run; cron lines an absolute path."""
    text = README.read_text()
    assert (Path(sys.executable).parent / "neon-exporter").exists()  # where make puts it
    commands = [line for line in _code_lines(text) if "neon-exporter" in line.split("#")[0]]
    assert commands, "the README lost its command examples"
    for line in commands:
        assert line.startswith((".venv/bin/neon-exporter", "make run")), line
    assert not re.search(r"make run ARGS=\"?(check|once)", "\n".join(_code_lines(text)))
    assert 'export PATH="$PWD/.venv/bin:$PATH"' in text
    for doc in (README, *sorted((ROOT / "docs").glob("*.md"))):
        for line in doc.read_text().splitlines():
            if "node_exporter/neon.prom" in line and " once" in line:
                command = re.search(r"(\S*neon-exporter) once", line)
                assert command, (doc.name, line)
                assert command.group(1).startswith("/"), (doc.name, line)


def test_creating_a_key_is_worded_once_and_linked() -> None:
    """Creating a key is worded once (README quick start, variable vs file) and linked elsewhere."""
    docs = {p.name: p.read_text() for p in (README, *(ROOT / "docs").glob("*.md"))}
    everything = "\n".join(docs.values())
    assert everything.count("Create new API key") == 1
    assert "Developer Settings" not in everything
    quick_start = _section(docs["README.md"], "Quick start with a real key")
    assert "Create new API key" in quick_start
    assert "try the exporter in your own shell" in quick_start
    assert "For a service, give the exporter a *file*" in quick_start
    for name in ("alerts.md", "configuration.md", "deployment.md"):
        assert f"../{QUICK_START}" in docs[name], name
