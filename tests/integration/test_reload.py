"""Reload (SIGHUP and POST /-/reload): keys come and go, the others keep their data."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import urllib.error
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import structlog
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from exporter.config.load import Config
from exporter.service import Service
from exporter.web.app import make_app
from tests.procs import exporter, http_post, sample, simulator, wait_for
from tests.sim import Fault, Simulator
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

    svc = polling = Service(old, load=lambda: new, on_reload=on_reload)
    await polling.start()
    try:

        def polled_after(t: float) -> bool:
            health = svc.state.all_health()
            return all((h.last_success or 0) > t for h in health.values())

        await _until(lambda: polled_after(0), within=10, what="first polls")
        assert await polling.reload() is False
        assert polling.running
        assert [k.name for k in svc.config.keys] == ["prod", "staging"]
        assert svc.metrics.config_reload.successful is False
        failed_at = svc.clock()
        await _until(lambda: polled_after(failed_at), within=10, what="polls after the reload")
    finally:
        await polling.stop()


Scrape = Callable[[], Awaitable[str]]


@asynccontextmanager
async def served(service: Service) -> AsyncIterator[Scrape]:
    """``service``'s app on a loopback socket (polling as it does in production) and a scrape
    of its /metrics."""
    server = TestServer(make_app(service), host="127.0.0.1")
    await server.start_server()

    async def scrape() -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.make_url("/metrics")) as resp,
        ):
            assert resp.status == 200
            return await resp.text()

    try:
        yield scrape
    finally:
        await server.close()


async def _scraped(scrape: Scrape, check: Callable[[str], bool], what: str) -> str:
    """Scrape every 50 ms until ``check`` holds of the text (at most 10 s); that text."""
    for _ in range(200):
        text = await scrape()
        if check(text):
            return text
        await asyncio.sleep(0.05)
    raise TimeoutError(f"not within 10s: {what}")


def _keys_in(text: str) -> set[str]:
    return {
        s.labels["key"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if "key" in s.labels
    }


async def test_metrics_mode_is_restart_only(sim_url: str, tmp_path: Path) -> None:
    """A reload that changes metrics_mode logs that it needs a restart and keeps serving the
    running mode, as the other restart-only settings do."""
    old = make_config(sim_url, key_files(tmp_path), poll_interval=0.2, key_check_interval=0.2)
    new = dataclasses.replace(old, metrics_mode="aggregate")
    service = Service(old, load=lambda: new)
    async with served(service) as scrape:
        await _scraped(scrape, lambda t: "neon_project_info{" in t, "projects served")
        with structlog.testing.capture_logs() as logs:
            assert await service.reload() is True
        text = await _scraped(scrape, lambda t: "neon_project_info{" in t, "projects served")
    restart = [e["setting"] for e in logs if e["event"] == "setting changed but needs a restart"]
    assert restart == ["metrics_mode"]
    assert service.config.metrics_mode == "projects"
    assert sample(text, "neon_exporter_config_last_reload_successful") == 1


async def test_a_removed_key_leaves_no_series_behind(
    sim: Simulator, sim_url: str, tmp_path: Path
) -> None:
    """After a reload that removes a key, no series carries its name: health, projects and the
    request, skipped-item and cursor-repeat counters alike."""
    bad_item = b'{"projects": [{"id": "no-name-000001"}]}'
    sim.inject(Fault(status=200, route="/projects", key_name="staging", body=bad_item, times=None))
    keys = key_files(tmp_path, ("prod", "staging"))
    old = make_config(sim_url, keys, poll_interval=0.2, key_check_interval=0.2)
    new = dataclasses.replace(old, keys=keys[:1])
    service = Service(old, load=lambda: new)
    skipped = "neon_exporter_api_skipped_items_total"
    async with served(service) as scrape:
        await _scraped(
            scrape, lambda t: sample(t, skipped, {"key": "staging"}) is not None, "staging polled"
        )
        assert await service.reload() is True
        text = await _scraped(
            scrape,
            lambda t: sample(t, "neon_exporter_api_requests_total", {"key": "prod"}) is not None,
            "prod served",
        )
    assert _keys_in(text) == {"prod"}
