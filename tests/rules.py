"""What the tests of the shipped Prometheus rules share: where the rules live, promtool and
amtool (Debian packages, installed by ``make system-deps``), and the series the demo serves."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RUNBOOK = ROOT / "docs" / "alerts.md"
RUNBOOK_URL = "https://github.com/neon-exporter/neon-exporter/blob/main/docs/alerts.md"


def run(tool: str, *args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    """``tool`` (promtool, amtool) with ``args``; a missing tool fails the test, never skips it."""
    path = shutil.which(tool)
    assert path is not None, f"{tool} is not installed: run `make system-deps`"
    return subprocess.run(
        [path, *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


def check_and_test(rules: str, tests: str) -> None:
    """`promtool check rules` on a rule file and `promtool test rules` on its cases pass."""
    check = run("promtool", "check", "rules", rules)
    assert check.returncode == 0, check.stdout + check.stderr
    tested = run("promtool", "test", "rules", tests)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@cache
def demo_series() -> frozenset[str]:
    """The names of the series ``neon-exporter once --demo`` prints (every area on)."""
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
    return frozenset(re.findall(r"^(neon_\w+)[{ ]", result.stdout, flags=re.MULTILINE))
