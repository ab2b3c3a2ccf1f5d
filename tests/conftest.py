"""Fixtures: the simulator served on a real loopback socket, and an exporter runtime wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from exporter.service import Service
from tests.sim import Simulator
from tests.support import KEYS, key_files, make_config, served


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture
def sim() -> Simulator:
    return Simulator(keys=KEYS, projects=5, endpoints_per_project=2, seed=3)


@pytest.fixture
async def sim_url(sim: Simulator) -> AsyncIterator[str]:
    async with served(sim) as url:
        yield url


@pytest.fixture
async def world() -> AsyncIterator[tuple[Simulator, str]]:
    """A simulator of four projects on a loopback socket, and its v2 URL."""
    sim = Simulator(keys=KEYS, projects=4, endpoints_per_project=1, seed=21)
    async with served(sim) as url:
        yield sim, url


@pytest.fixture
def service_for(tmp_path: Path) -> object:
    def build(url: str, names: tuple[str, ...] = ("prod",), **changes: object) -> Service:
        return Service(make_config(url, key_files(tmp_path, names), **changes))

    return build
