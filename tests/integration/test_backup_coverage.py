"""The backup_coverage area over real sockets against the simulator: whether each default
branch has a backup schedule, snapshots or not, and the area failing apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exporter.service import Service
from tests.sim import Fault, Simulator
from tests.support import KEYS, Clock, key_files, make_config, quick_retries, served, value

BRANCHES = "/projects/{project_id}/branches"
SCHEDULE = "/projects/{project_id}/branches/{branch_id}/backup_schedule"
ON = {"backup_coverage": True}
SCHEDULED = "neon_project_default_branch_backup_scheduled"


@pytest.fixture
async def world() -> AsyncIterator[tuple[Simulator, str]]:
    # A daily schedule, an hourly one, none (a manual snapshot): exporter/simulator/snapshots.
    sim = Simulator(keys=KEYS, projects=3, endpoints_per_project=1, seed=21)
    async with served(sim) as url:
        yield sim, url


def main_branch(sim: Simulator, pid: str) -> str:
    return next(b.id for b in sim.world.projects[pid].branches if b.default)


def success(svc: Service) -> float | None:
    return value(svc, "neon_exporter_collector_success", key="prod", collector="backup_coverage")


async def test_default_branch_schedules(world: tuple[Simulator, str], tmp_path: Path) -> None:
    """Scheduled default branches read 1, the unscheduled one 0, though it has snapshots
    (a manual one) or none: a branch list and a schedule per project, nothing more."""
    sim, url = world
    daily, hourly, bare = sim.project_ids()
    sim.snapshots.branch(bare, main_branch(sim, bare)).manual.clear()  # no snapshot at all
    svc = Service(make_config(url, key_files(tmp_path), collectors=ON), clock=Clock())
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    for pid, scheduled in ((daily, 1), (hourly, 1), (bare, 0)):
        assert value(svc, SCHEDULED, project_id=pid, branch_id=main_branch(sim, pid)) == scheduled
    assert success(svc) == 1
    assert sim.count(BRANCHES) == 3
    assert sim.count(SCHEDULE) == 3
    assert sim.count("/projects/{project_id}/snapshots") == 0


@pytest.mark.parametrize(
    ("status", "route"), [(403, SCHEDULE), (404, SCHEDULE), (404, BRANCHES), (500, SCHEDULE)]
)
async def test_backup_coverage_fails_apart(
    world: tuple[Simulator, str], tmp_path: Path, status: int, route: str
) -> None:
    """Snapshots not on the plan (the schedule route answers 403) or the default branch gone
    since the list (its schedule's 404): no series, the area succeeds. The branch list's 404
    or a schedule's 500 fail the area, which keeps its last data; the projects stay (the
    project list decides what is gone)."""
    sim, url = world
    bare = sim.project_ids()[2]
    labels = {"project_id": bare, "branch_id": main_branch(sim, bare)}
    clock = Clock()
    config = make_config(url, key_files(tmp_path), collectors=ON, poll_max_age=7200.0)
    svc = Service(config, clock=clock)
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        assert value(svc, SCHEDULED, **labels) == 0
        sim.inject(Fault(status=status, route=route, times=None))
        clock.now += 3601
        assert await poller.poll("prod")
    assert len(svc.state.view().projects) == 3
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    if route == SCHEDULE and status in (403, 404):
        assert success(svc) == 1
        assert value(svc, SCHEDULED, **labels) is None
    else:
        assert success(svc) == 0
        assert value(svc, SCHEDULED, **labels) == 0
