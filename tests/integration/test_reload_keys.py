"""Where a reload takes its keys from: emptying the file's keys is refused even when
NEON_API_KEY or NEON_API_KEY_FILE is set (as under the shipped systemd unit)."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest

from exporter.cli import parse, reload_config
from exporter.config.errors import ConfigError
from tests.procs import exporter, http_post, sample, simulator, wait_for
from tests.support import KEYS

# The key of NEON_API_KEY_FILE: one the simulator would accept too, were it ever used.
ALL_KEYS = {**KEYS, "other": "other-" + "c" * 40}


def _key_file(tmp: Path, name: str) -> Path:
    path = tmp / f"{name}.key"
    path.write_text(ALL_KEYS[name] + "\n")
    path.chmod(0o600)
    return path


def _write_config(path: Path, tmp: Path, names: list[str]) -> None:
    lines = ["poll_interval: 1s", "key_check_interval: 1s"]
    if names:
        lines.append("keys:")
    for name in names:
        lines += [f"  - name: {name}", f"    key_file: {_key_file(tmp, name)}"]
    path.write_text("\n".join(lines) + "\n")


def test_reload_never_switches_from_the_files_keys_to_the_variable(tmp_path: Path) -> None:
    """A reload takes NEON_API_KEY_FILE's key only when the running key came from it."""
    config = tmp_path / "config.yml"
    env = {"NEON_API_KEY_FILE": str(_key_file(tmp_path, "other"))}
    _write_config(config, tmp_path, ["prod", "staging"])
    _, running = parse(["--config.file", str(config)], env)
    assert not running.keys_from_env
    _write_config(config, tmp_path, [])
    with pytest.raises(ConfigError) as refused:
        reload_config(["--config.file", str(config)], env, running)
    assert str(refused.value).startswith(f"keys in {config}: no API key")
    assert "NEON_API_KEY_FILE" in str(refused.value)

    _, running = parse(["--config.file", str(config)], env)  # a file of settings only
    assert running.keys_from_env
    again = reload_config(["--config.file", str(config)], env, running)
    assert [k.name for k in again.keys] == ["default"]
    _write_config(config, tmp_path, ["prod"])  # the file's keys take over, as at start
    moved = reload_config(["--config.file", str(config)], env, running)
    assert [k.name for k in moved.keys] == ["prod"]
    assert not moved.keys_from_env


def test_emptying_the_files_keys_is_refused_under_a_key_variable(tmp_path: Path) -> None:
    """Under NEON_API_KEY_FILE (as systemd runs it) emptying the file's keys is refused."""
    config = tmp_path / "config.yml"
    _write_config(config, tmp_path, ["prod", "staging"])
    with simulator(tmp_path, keys=ALL_KEYS, projects=2) as sim:
        env = {
            "NEON_API_URL": f"{sim.url}/api/v2",
            "NEON_API_KEY_FILE": str(_key_file(tmp_path, "other")),
        }
        args = ["--config.file", str(config), "--web.enable-lifecycle"]
        with exporter(tmp_path, args, env=env) as exp:
            wait_for(
                lambda: sample(exp.metrics(), "neon_projects", {"key": "staging"}) == 2,
                timeout=15,
                what="both keys polled",
            )
            _write_config(config, tmp_path, [])
            with pytest.raises(urllib.error.HTTPError) as refused:
                http_post(f"{exp.url}/-/reload")
            assert refused.value.code == 500
            text = exp.metrics()
            assert sample(text, "neon_exporter_config_last_reload_successful") == 0
            for name in ("prod", "staging"):
                assert sample(text, "neon_api_key_valid", {"key": name}) == 1
            assert sample(text, "neon_api_key_valid", {"key": "default"}) is None
            events = [r for r in exp.logs() if str(r["event"]).startswith("reload failed")]
    assert [str(r["event"]) for r in events] == ["reload failed, keeping the running configuration"]
    assert str(events[0]["error"]).startswith(f"keys in {config}: no API key")
