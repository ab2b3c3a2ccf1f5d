"""The first `make run` as a newcomer sees it: one line saying what is being set up, one when it
is done, and no warning banner that reads like a failure."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_venv_set_up_says_what_happens_and_prints_no_banner(tmp_path: Path) -> None:
    """The venv recipe, run for real, prints its two lines and no editable-install banner."""
    make = shutil.which("make")
    assert make, "make is not installed"
    venv, lock = tmp_path / "venv", tmp_path / "empty.lock"
    lock.write_text("")
    result = subprocess.run(
        [make, "--no-print-directory", f"VENV={venv}", f"DEV_LOCK={lock}", f"{venv}/.installed"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"setting up {venv}/ with the locked packages"), out
    assert lines[-1] == f"{venv}/ is ready; the exporter's command is {venv}/bin/neon-exporter"
    assert len(lines) == 2, out  # make echoes no command line
    for noise in ("!!", "*****", "BuildBackendWarning", "Editable installation", "Traceback"):
        assert noise not in out, out
    assert (venv / "bin" / "neon-exporter").exists()
