"""The advisors area over real sockets against the simulator: issue counts by level and
category, a project without the Data API (not analysable, the area still succeeds), the plan not
offering the advisors, and the route failing apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from exporter.service import Service
from exporter.simulator.lists import Extras
from tests.sim import Fault, Simulator
from tests.support import KEYS, Clock, key_files, make_config, quick_retries, served, value

ROUTE = "/projects/{project_id}/advisors"
ON = {"endpoints": True, "advisors": True}
ISSUES = "neon_project_advisor_issues"
AVAILABLE = "neon_project_advisors_available"


@pytest.fixture
async def world() -> AsyncIterator[tuple[Simulator, str]]:
    # Projects 0 and 2 have the Data API (0: two security errors), 1 has not.
    sim = Simulator(keys=KEYS, projects=3, seed=9, extras=Extras(features=True))
    async with served(sim) as url:
        yield sim, url


def success(svc: Service) -> float | None:
    return value(svc, "neon_exporter_collector_success", key="prod", collector="advisors")


async def test_issue_counts_by_level_and_category(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, url = world
    first, bare, third = sim.project_ids()
    svc = Service(make_config(url, key_files(tmp_path), collectors=ON), clock=Clock())
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert value(svc, ISSUES, project_id=first, level="error", category="security") == 2
    assert value(svc, ISSUES, project_id=first, level="warn", category="security") == 1
    infos = sum(1 for i in sim.world.projects[first].advisor_issues if i["level"] == "INFO")
    performance = value(svc, ISSUES, project_id=first, level="info", category="performance")
    assert performance == (infos or None)  # no series for a zero count
    assert value(svc, AVAILABLE, project_id=first) == 1
    assert value(svc, AVAILABLE, project_id=third) == 1
    # No Data API (Neon's answer is undocumented; the simulator's is a 404): not analysable,
    # no counts, and the area still succeeds.
    assert value(svc, AVAILABLE, project_id=bare) == 0
    assert value(svc, ISSUES, project_id=bare, level="error", category="security") is None
    assert success(svc) == 1
    assert sim.count(ROUTE) == 3


async def test_aggregate_mode_sums_issues(world: tuple[Simulator, str], tmp_path: Path) -> None:
    """--metrics.mode=aggregate: issues over every analysed project, no per-project series."""
    sim, url = world
    config = make_config(url, key_files(tmp_path), collectors=ON, metrics_mode="aggregate")
    svc = Service(config, clock=Clock())
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    issues = [i for p in sim.world.projects.values() for i in p.advisor_issues if p.data_api]
    security = len(
        [
            i
            for i in issues
            if i["level"] == "ERROR" and "SECURITY" in cast(list[str], i["categories"])
        ]
    )
    assert security == 2
    assert value(svc, "neon_aggregate_advisor_issues", level="error", category="security") == 2
    assert value(svc, AVAILABLE, project_id=sim.project_ids()[0]) is None


@pytest.mark.parametrize("fault", ["plan", 403, 404, 500])
async def test_advisors_fail_apart(
    world: tuple[Simulator, str], tmp_path: Path, fault: str | int
) -> None:
    """Not on the plan (403) or refused (404): not analysable, no counts, the area succeeds;
    a 500 (after retries) fails the area, which keeps its last counts. Projects and
    endpoints are served either way."""
    sim, url = world
    first = sim.project_ids()[0]
    clock = Clock()
    config = make_config(url, key_files(tmp_path), collectors=ON, poll_max_age=7200.0)
    svc = Service(config, clock=clock)
    labels = {"project_id": first, "level": "error", "category": "security"}
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        assert value(svc, ISSUES, **labels) == 2
        if fault == "plan":
            sim.world.advisors_plan = False
        else:
            sim.inject(Fault(status=int(fault), route=ROUTE, times=None))
        clock.now += 3601
        assert await poller.poll("prod")
    assert len(svc.state.view().projects) == 3
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="endpoints") == 1
    if fault == 500:
        assert success(svc) == 0
        assert value(svc, ISSUES, **labels) == 2
        assert value(svc, AVAILABLE, project_id=first) == 1
    else:
        assert success(svc) == 1
        assert value(svc, ISSUES, **labels) is None
        assert value(svc, AVAILABLE, project_id=first) == 0
