"""Reload (SIGHUP and POST /-/reload): keys come and go, the others keep their data."""

from __future__ import annotations

import signal
import urllib.error
from pathlib import Path

import pytest

from tests.procs import exporter, http_post, sample, simulator, wait_for
from tests.support import KEYS


def write_config(path: Path, tmp: Path, names: list[str]) -> None:
    lines = ["poll_interval: 1s", "key_check_interval: 1s", "keys:"]
    for name in names:
        key_file = tmp / f"{name}.key"
        key_file.write_text(KEYS[name])
        key_file.chmod(0o600)
        lines += [f"  - name: {name}", f"    key_file: {key_file}"]
    path.write_text("\n".join(lines) + "\n")


def test_sighup_and_post_reload_add_and_remove_keys(tmp_path: Path) -> None:
    """Adding a key by SIGHUP and removing another by POST keeps the remaining key's data."""
    config = tmp_path / "config.yml"
    write_config(config, tmp_path, ["prod"])
    with simulator(tmp_path, keys=KEYS, projects=4) as sim:
        env = {"NEON_API_URL": f"{sim.url}/api/v2"}
        args = ["--config.file", str(config), "--web.enable-lifecycle"]
        with exporter(tmp_path, args, env=env) as exp:
            wait_for(
                lambda: sample(exp.metrics(), "neon_projects", {"key": "prod"}) == 4,
                timeout=15,
                what="prod polled",
            )

            write_config(config, tmp_path, ["prod", "staging"])
            exp.proc.popen.send_signal(signal.SIGHUP)
            wait_for(
                lambda: sample(exp.metrics(), "neon_projects", {"key": "staging"}) == 4,
                timeout=15,
                what="staging polled after SIGHUP",
            )
            assert sample(exp.metrics(), "neon_projects", {"key": "prod"}) == 4

            write_config(config, tmp_path, ["staging"])
            assert http_post(f"{exp.url}/-/reload") == 200
            text = exp.metrics()
            assert sample(text, "neon_projects", {"key": "prod"}) is None
            assert sample(text, "neon_api_key_valid", {"key": "prod"}) is None
            assert sample(text, "neon_projects", {"key": "staging"}) == 4

            config.write_text("poll_interval: never\n")
            with pytest.raises(urllib.error.HTTPError) as refused:
                http_post(f"{exp.url}/-/reload")
            assert refused.value.code == 500
            assert sample(exp.metrics(), "neon_projects", {"key": "staging"}) == 4
            events = [str(r["event"]) for r in exp.logs()]
    assert events.count("configuration reloaded") == 2
    assert "reload failed, keeping the running configuration" in events


def test_reload_endpoint_is_off_by_default(tmp_path: Path) -> None:
    """Without --web.enable-lifecycle, POST /-/reload does not exist."""
    with (
        simulator(tmp_path, keys=KEYS, projects=1) as sim,
        exporter(
            tmp_path, [], env={"NEON_API_URL": f"{sim.url}/api/v2", "NEON_API_KEY": KEYS["prod"]}
        ) as exp,
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            http_post(f"{exp.url}/-/reload")
        assert refused.value.code in (404, 405)
