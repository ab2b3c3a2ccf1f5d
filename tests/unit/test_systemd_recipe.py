"""docs/deployment.md's systemd recipe as written: its install commands run, and the several-keys
drop-in verifies, leaves no single key in reach, and matches the config it goes with."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from exporter.areas import COLLECTOR_DEFAULTS
from exporter.config.load import build_config

ROOT = Path(__file__).resolve().parents[2]
SYSTEMD = ROOT / "deploy" / "systemd"
CREDENTIALS = "/run/credentials/neon-exporter.service"


def _systemd_section() -> str:
    text = (ROOT / "docs" / "deployment.md").read_text()
    match = re.search(r"^## systemd\n(.*?)^## ", text, re.MULTILINE | re.DOTALL)
    assert match, "deployment.md lost its systemd section"
    return match.group(1)


def _install_commands() -> list[str]:
    """The recipe's commands up to the exporter's `--version`: what builds the venv."""
    block = re.search(r"```sh\n(.*?)```", _systemd_section(), re.DOTALL)
    assert block
    lines = block.group(1).splitlines()
    end = next(i for i, line in enumerate(lines) if line.endswith("neon-exporter --version"))
    return lines[: end + 1]


def test_install_commands_build_and_install_the_wheel_as_written(tmp_path: Path) -> None:
    """deployment.md's venv commands, run as written, install a working neon-exporter wheel."""
    commands = _install_commands()
    assert not any(re.search(r"pip install (-\S+ )*neon-exporter\b", c) for c in commands)
    script = "\n".join(
        c.replace("/opt/neon-exporter", str(tmp_path / "venv")).replace(
            "/tmp/neon-exporter-wheel", str(tmp_path / "wheel")
        )
        for c in commands
    )
    python = Path(sys.executable).resolve()  # this suite's Python (3.11+), as `python3`
    env_path = f"{tmp_path / 'bin'}:/usr/bin:/bin"
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3").symlink_to(python)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={"PATH": env_path, "HOME": str(tmp_path), **_pip_env()},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert re.search(r"^neon-exporter \d+\.\d+\.\d+", result.stdout, re.MULTILINE), result.stdout


def _pip_env() -> dict[str, str]:
    """pip's own settings of this machine (index, certificates), nothing else."""
    return {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "SSL_", "REQUESTS_CA"))}


def test_several_keys_drop_in_verifies_with_the_unit(tmp_path: Path) -> None:
    """The unit with several-keys.conf as its drop-in passes systemd-analyze verify silently."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is not installed: run `make system-deps`"
    unit = (SYSTEMD / "neon-exporter.service").read_text()
    binary = Path(sys.executable).parent / "neon-exporter"
    (tmp_path / "neon-exporter.service").write_text(
        unit.replace("/opt/neon-exporter/bin/neon-exporter", str(binary))
    )
    drop_ins = tmp_path / "neon-exporter.service.d"
    drop_ins.mkdir()
    shutil.copy(SYSTEMD / "several-keys.conf", drop_ins)
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / "neon-exporter.service")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def _service_lines(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith(("#", "["))
    ]


def test_several_keys_drop_in_removes_the_single_key_and_loads_the_configs_keys(
    tmp_path: Path,
) -> None:
    """The drop-in drops the unit's key and loads exactly config.yml's keys, which load quietly."""
    lines = _service_lines(SYSTEMD / "several-keys.conf")
    credentials = [line for line in lines if line.startswith("LoadCredential=")]
    assert credentials[0] == "LoadCredential=", "the unit's neon-api-key would still be loaded"
    assert "UnsetEnvironment=NEON_API_KEY_FILE" in lines
    loaded = dict(c.removeprefix("LoadCredential=").split(":", 1) for c in credentials[1:])
    (config_path,) = [
        line.removeprefix("Environment=NEON_EXPORTER_CONFIG=")
        for line in lines
        if line.startswith("Environment=NEON_EXPORTER_CONFIG=")
    ]
    assert f"config.yml {config_path}" in (SYSTEMD / "several-keys.conf").read_text()

    config = yaml.safe_load((SYSTEMD / "config.yml").read_text())
    files = {k["name"]: k["key_file"] for k in config["keys"]}
    assert files == {cred: f"{CREDENTIALS}/{cred}" for cred in loaded}
    for key in config["keys"]:
        local = tmp_path / key["name"]
        local.write_text("napi_" + "x" * 40 + "\n")
        local.chmod(0o400)  # as systemd hands credentials to the service
        key["key_file"] = str(local)
    local_config = tmp_path / "config.yml"
    local_config.write_text(yaml.safe_dump(config))
    loaded_config = build_config(
        {}, {"NEON_EXPORTER_CONFIG": str(local_config)}, collectors=COLLECTOR_DEFAULTS
    )
    assert [k.name for k in loaded_config.keys] == list(files)
    assert loaded_config.warnings == ()
