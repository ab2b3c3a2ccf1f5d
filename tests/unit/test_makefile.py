"""The first `make run` as a newcomer sees it: one line saying what is being set up, one when it
is done, and no command echo or warning banner that reads like a failure."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _venv_recipe() -> list[str]:
    """The recipe lines of the venv's stamp rule, as make would run them (dry run)."""
    make = shutil.which("make")
    assert make, "make is not installed"
    argv = [make, "--no-print-directory", "--dry-run", "--always-make", "VENV=/x/venv"]
    result = subprocess.run(
        [*argv, "/x/venv/.installed"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines, result.stderr
    return lines


def test_venv_set_up_says_what_happens_and_silences_the_banner() -> None:
    """The venv recipe says what it does and when done, echoes nothing, silences the banner."""
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert rule, "the Makefile lost its venv rule"
    recipe = rule.group(1).splitlines()
    assert all(line.startswith("\t@") for line in recipe), "make would echo a command"
    lines = _venv_recipe()
    assert lines[0].startswith('echo "setting up /x/venv/ with the locked packages')
    assert (
        lines[-1]
        == 'echo "/x/venv/ is ready; the exporter\'s command is /x/venv/bin/neon-exporter"'
    )
    (editable,) = [line for line in lines if " -e ." in line]
    assert editable.startswith("PYTHONWARNINGS=ignore ")
    assert all("--quiet" in line for line in lines if " pip install" in line)
