"""A reload loads the web config file beside the configuration: a bad one refuses the reload,
and a reload that fails after the web side took the new one gives the old one back."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import bcrypt
import pytest
import structlog
from aiohttp.test_utils import TestServer

from exporter.config.load import Config
from exporter.service import Service
from exporter.web.app import make_app
from exporter.web.guard import WebGuard, WebReload, load_web
from tests.support import key_files, make_config


def _users(path: Path, user: str) -> None:
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    path.write_text(f"basic_auth_users:\n  {user}: {hashed}\n")


Status = Callable[[str], Awaitable[int]]


@pytest.fixture
def reloaded() -> dict[str, object]:
    """Changes the next reload's configuration has beside the running one's (none: the same)."""
    return {}


@pytest.fixture
async def served(
    sim_url: str, tmp_path: Path, reloaded: dict[str, object]
) -> AsyncIterator[tuple[Service, Status, Path]]:
    """An exporter app whose reload re-reads ``web.yml`` (basic auth for user ``a`` at first)."""
    web_file = tmp_path / "web.yml"
    _users(web_file, "a")
    config = make_config(sim_url, key_files(tmp_path), web_config_file=str(web_file))
    web_config = load_web(config)
    guard = WebGuard(web_config)
    reloads = WebReload(
        guard,
        web_config,
        lambda: dataclasses.replace(config, **reloaded),  # type: ignore[arg-type]
        started=config,
    )
    service = Service(config, load=reloads.load, on_reload=reloads.apply)
    server = TestServer(make_app(service, guard=guard), host="127.0.0.1")
    await server.start_server()

    async def status(user: str) -> int:
        auth = "Basic " + base64.b64encode(f"{user}:pw".encode()).decode()
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.make_url("/healthz"), headers={"Authorization": auth}) as resp,
        ):
            return resp.status

    try:
        yield service, status, web_file
    finally:
        await server.close()


async def test_bad_web_config_refuses_the_reload_and_keeps_the_running_one(
    served: tuple[Service, Status, Path],
) -> None:
    """A web config that does not load is refused like a bad config: the running one stays."""
    service, status, web_file = served
    assert await status("a") == 200
    web_file.write_text("basic_auth_users: [not, a, mapping]\n")
    assert await service.reload() is False
    assert service.metrics.config_reload.successful is False
    assert await status("a") == 200
    _users(web_file, "b")
    assert await service.reload() is True
    assert (await status("b"), await status("a")) == (200, 401)


@pytest.mark.parametrize("reloaded", [{"web_config_file": None}])
async def test_reload_removing_the_web_config_path_keeps_basic_auth(
    served: tuple[Service, Status, Path],
) -> None:
    """web_config_file gone from the reloaded configuration: the path is restart-only, so the
    running file stays in force (no request gets in without the password) and its content
    changes still apply on reload."""
    service, status, web_file = served
    assert (await status("a"), await status("nobody")) == (200, 401)
    with structlog.testing.capture_logs() as logs:
        assert await service.reload() is True
    assert (await status("a"), await status("nobody")) == (200, 401)
    restart = [e["setting"] for e in logs if e["event"] == "setting changed but needs a restart"]
    assert restart == ["web_config_file"]
    _users(web_file, "b")
    assert await service.reload() is True
    assert (await status("b"), await status("a")) == (200, 401)


async def test_restoring_after_a_failed_reload_restores_the_web_config(tmp_path: Path) -> None:
    """apply(new) then apply(old), as Service does when starting the new one fails."""
    web_file = tmp_path / "web.yml"
    web_file.write_text("http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
    old = Config(web_config_file=str(web_file))
    new = dataclasses.replace(old, poll_interval=30.0)
    guard = WebGuard(load_web(old))
    reloads = WebReload(guard, load_web(old), lambda: new, started=old)
    web_file.write_text("http_server_config: {}\n")  # the content a reload reads
    seen: list[str | None] = []

    async def header() -> str | None:
        async def ok(request: aiohttp.web.Request) -> aiohttp.web.Response:
            return aiohttp.web.Response()

        app = aiohttp.web.Application(middlewares=[guard.middleware])
        app.router.add_get("/", ok)
        async with (
            TestServer(app, host="127.0.0.1") as server,
            aiohttp.ClientSession() as session,
            session.get(server.make_url("/")) as resp,
        ):
            return resp.headers.get("X-Frame-Options")

    reloads.apply(reloads.load())
    seen.append(await header())
    reloads.apply(dataclasses.replace(old))  # the running configuration, restored
    seen.append(await header())
    assert seen == [None, "deny"]
