"""Integrations from the project list's ``integrations`` and ``applications`` maps: no request
of their own, over real sockets against the simulator."""

from __future__ import annotations

from pathlib import Path

from exporter.service import Service
from exporter.simulator.lists import Extras
from tests.sim import Simulator
from tests.support import KEYS, Clock, key_files, make_config, served, value

INFO = "neon_project_integration_info"


async def test_integrations_per_project(tmp_path: Path) -> None:
    sim = Simulator(keys=KEYS, projects=6, seed=3, extras=Extras(features=True))
    first, second, third = sim.project_ids()[:3]
    sim.world.projects[third].integrations = ["datadog", "github", "not a name!"]
    async with served(sim) as url:
        svc = Service(
            make_config(url, key_files(tmp_path), collectors={"endpoints": False}), clock=Clock()
        )
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
    assert value(svc, INFO, project_id=first, integration="github") == 1
    assert value(svc, INFO, project_id=first, integration="vercel") == 1
    assert value(svc, INFO, project_id=second, integration="opentelemetry") == 1
    assert value(svc, INFO, project_id=third, integration="datadog") == 1
    assert value(svc, INFO, project_id=third, integration="not a name!") is None  # never free text
    assert value(svc, INFO, project_id=sim.project_ids()[3], integration="github") is None
    assert sim.count() == sim.count("/projects") == 1  # the list, nothing more
