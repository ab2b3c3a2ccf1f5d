"""Fixtures: the simulator served on a real loopback socket, and an exporter runtime wired to it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from aiohttp.test_utils import TestServer

from exporter.config import Config, KeyConfig, KeySource
from exporter.runtime import Runtime
from exporter.simulator import Simulator

KEYS = {"prod": "prod-" + "a" * 40, "staging": "staging-" + "b" * 40}


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture
def sim() -> Simulator:
    return Simulator(keys=KEYS, projects=5, endpoints_per_project=2, seed=3)


@pytest.fixture
async def sim_url(sim: Simulator) -> AsyncIterator[str]:
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/api/v2"))
    finally:
        await server.close()


def key_files(tmp_path: Path, names: tuple[str, ...] = ("prod",)) -> tuple[KeyConfig, ...]:
    keys = []
    for name in names:
        path = tmp_path / f"{name}.key"
        path.write_text(KEYS[name] + "\n")
        path.chmod(0o600)
        keys.append(KeyConfig(name=name, source=KeySource(file=str(path))))
    return tuple(keys)


def make_config(url: str, keys: tuple[KeyConfig, ...], **changes: object) -> Config:
    base = Config(
        api_url=url,
        keys=keys,
        max_requests_per_minute=60_000,  # tests are not about pacing unless they say so
        request_timeout=2.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def runtime_for(tmp_path: Path) -> object:
    def build(url: str, names: tuple[str, ...] = ("prod",), **changes: object) -> Runtime:
        return Runtime.create(make_config(url, key_files(tmp_path, names), **changes))

    return build
