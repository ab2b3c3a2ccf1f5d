"""Reload (SIGHUP and POST /-/reload): keys come and go, the others keep their data."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import urllib.error
from collections.abc import Callable
from pathlib import Path

import pytest

from exporter.config.load import Config
from exporter.service import Service
from tests.procs import exporter, http_post, sample, simulator, wait_for
from tests.support import KEYS, key_files, make_config


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


def test_reload_without_keys_is_refused_and_reported(tmp_path: Path) -> None:
    """Removing every key from the file is a bad reload: the running keys stay, /readyz keeps
    meaning them, and the reload metrics say it failed until a good reload."""
    config = tmp_path / "config.yml"
    write_config(config, tmp_path, ["prod"])
    with simulator(tmp_path, keys=KEYS, projects=3) as sim:
        env = {"NEON_API_URL": f"{sim.url}/api/v2"}
        args = ["--config.file", str(config), "--web.enable-lifecycle"]
        with exporter(tmp_path, args, env=env) as exp:
            wait_for(
                lambda: sample(exp.metrics(), "neon_projects", {"key": "prod"}) == 3,
                timeout=15,
                what="prod polled",
            )
            text = exp.metrics()
            assert sample(text, "neon_exporter_config_last_reload_successful") == 1
            started = sample(text, "neon_exporter_config_last_reload_success_timestamp_seconds")
            assert started is not None

            config.write_text("poll_interval: 1s\nkey_check_interval: 1s\n")
            with pytest.raises(urllib.error.HTTPError) as refused:
                http_post(f"{exp.url}/-/reload")
            assert refused.value.code == 500
            text = exp.metrics()
            assert sample(text, "neon_projects", {"key": "prod"}) == 3
            assert sample(text, "neon_api_key_valid", {"key": "demo"}) is None
            assert sample(text, "neon_exporter_config_last_reload_successful") == 0
            assert (
                sample(text, "neon_exporter_config_last_reload_success_timestamp_seconds")
                == started
            )

            write_config(config, tmp_path, ["prod"])
            exp.proc.popen.send_signal(signal.SIGHUP)
            wait_for(
                lambda: sample(exp.metrics(), "neon_exporter_config_last_reload_successful") == 1,
                timeout=15,
                what="a good reload after the bad one",
            )
            again = sample(
                exp.metrics(), "neon_exporter_config_last_reload_success_timestamp_seconds"
            )
            assert again is not None
            assert again >= started
            failures = [
                r
                for r in exp.logs()
                if r["event"] == "reload failed, keeping the running configuration"
            ]
    assert len(failures) == 1
    assert str(failures[0]["error"]).startswith(f"keys in {config}: ")


async def _until(check: Callable[[], bool], *, within: float, what: str) -> None:
    """Check every 50 ms, for at most ``within`` seconds."""
    for _ in range(int(within / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"not within {within}s: {what}")


async def test_reload_failing_after_polling_stopped_restores_polling(
    sim_url: str, tmp_path: Path
) -> None:
    """A reload that fails once polling is stopped (here the web side refuses the new
    configuration) puts the running configuration back and polls on: never dead polling."""
    keys = key_files(tmp_path, ("prod", "staging"))
    old = make_config(sim_url, keys, poll_interval=0.2, key_check_interval=0.2)
    new = dataclasses.replace(old, keys=keys[:1])
    applied: list[Config] = []

    def on_reload(config: Config) -> None:
        applied.append(config)
        if config is new:
            raise RuntimeError("the web side cannot apply this")

    rt = polling = Service(old, load=lambda: new, on_reload=on_reload)
    await polling.start()
    try:

        def polled_after(t: float) -> bool:
            health = rt.state.all_health()
            return all((h.last_success or 0) > t for h in health.values())

        await _until(lambda: polled_after(0), within=10, what="first polls")
        assert await polling.reload() is False
        assert polling.running
        assert [k.name for k in rt.config.keys] == ["prod", "staging"]
        assert rt.metrics.config_reload.successful is False
        failed_at = rt.clock()
        await _until(lambda: polled_after(failed_at), within=10, what="polls after the reload")
    finally:
        await polling.stop()
