"""The snapshots area over real sockets against the simulator: the newest snapshot and sizes per
branch, the schedule of branches with snapshots only, its hourly refresh, and failing apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from exporter.service import Service
from exporter.simulator.model import utcnow
from tests.sim import Fault, Simulator
from tests.support import KEYS, key_files, make_config, quick_retries, served, value

ROUTE = "/projects/{project_id}/snapshots"
SCHEDULE = "/projects/{project_id}/branches/{branch_id}/backup_schedule"
ON = {"endpoints": True, "snapshots": True}
NEWEST = "neon_branch_snapshot_newest_timestamp_seconds"
INTERVAL = "neon_branch_backup_schedule_interval_seconds"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow().timestamp()

    def __call__(self) -> float:
        return self.now


def success(svc: Service, collector: str) -> float | None:
    return value(svc, "neon_exporter_collector_success", key="prod", collector=collector)


@pytest.fixture
async def world() -> AsyncIterator[tuple[Simulator, str]]:
    # Three projects: a daily schedule, an hourly one, none but a manual snapshot (see
    # exporter/simulator/snapshots).
    sim = Simulator(keys=KEYS, projects=3, endpoints_per_project=1, seed=21)
    async with served(sim) as url:
        yield sim, url


def main_branch(sim: Simulator, pid: str) -> str:
    return next(b.id for b in sim.world.projects[pid].branches if b.default)


async def test_newest_snapshot_sizes_and_schedule_per_branch(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """Per branch: the count, the newest snapshot's time, summed sizes (absent where none is
    known), the schedule's period; a schedule is asked for only where a branch has snapshots,
    and a 404 there (a deleted source branch) is no schedule, not a failure."""
    sim, url = world
    daily, hourly, bare = sim.project_ids()
    now = utcnow()
    gone = sim.snapshots.add_snapshot(bare, "br-deleted-000001", now - timedelta(hours=5))
    svc = Service(make_config(url, key_files(tmp_path), collectors=ON), clock=Clock())
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    d, h = main_branch(sim, daily), main_branch(sim, hourly)
    assert value(svc, "neon_branch_snapshots", project_id=daily, branch_id=d) == 7
    assert value(svc, "neon_branch_snapshots", project_id=hourly, branch_id=h) == 24
    newest_daily = value(svc, NEWEST, project_id=daily, branch_id=d)
    assert newest_daily is not None
    assert now.timestamp() - 86400 < newest_daily <= now.timestamp()
    assert value(svc, INTERVAL, project_id=daily, branch_id=d) == 86400
    assert value(svc, INTERVAL, project_id=hourly, branch_id=h) == 3600
    full = value(svc, "neon_branch_snapshot_full_size_bytes", project_id=daily, branch_id=d)
    diff = value(svc, "neon_branch_snapshot_diff_size_bytes", project_id=daily, branch_id=d)
    assert full is not None
    assert diff is not None
    assert 0 < diff < full
    # The manual snapshot of a deleted branch: its time, no sizes, no schedule.
    labels = {"project_id": bare, "branch_id": "br-deleted-000001"}
    assert value(svc, NEWEST, **labels) == (now - timedelta(hours=5)).timestamp()
    assert value(svc, "neon_branch_snapshot_full_size_bytes", **labels) is None
    assert value(svc, INTERVAL, **labels) is None
    b = main_branch(sim, bare)  # a manual snapshot, an empty schedule
    assert value(svc, "neon_branch_snapshots", project_id=bare, branch_id=b) == 1
    assert value(svc, INTERVAL, project_id=bare, branch_id=b) is None
    assert success(svc, "snapshots") == 1
    assert sim.count(ROUTE) == 3
    assert sim.count(SCHEDULE) == 4  # each main branch (all have snapshots) and the deleted one
    assert sim.count(SCHEDULE, status=404) == 1
    assert gone


async def test_refreshed_hourly_not_every_poll(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """Endpoints rotate every poll; snapshots wait for their hour."""
    sim, url = world
    clock = Clock()
    svc = Service(make_config(url, key_files(tmp_path), collectors=ON), clock=clock)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        clock.now += 600
        assert await poller.poll("prod")
        assert sim.count(ROUTE) == 3
        assert sim.count("/projects/{project_id}/endpoints") == 6
        clock.now += 3000
        assert await poller.poll("prod")
        assert sim.count(ROUTE) == 6


@pytest.mark.parametrize(("status", "route"), [(500, ROUTE), (404, ROUTE), (500, SCHEDULE)])
async def test_failing_snapshot_routes_keep_projects_and_other_areas(
    world: tuple[Simulator, str], tmp_path: Path, status: int, route: str
) -> None:
    """The snapshot list (500 after retries, or 404) or a schedule (500) fails: every project
    and endpoint is still served; snapshots keep their last data and say they are failing."""
    sim, url = world
    daily = sim.project_ids()[0]
    d = main_branch(sim, daily)
    clock = Clock()
    svc = Service(
        make_config(url, key_files(tmp_path), collectors=ON, poll_max_age=7200.0), clock=clock
    )
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        before = value(svc, NEWEST, project_id=daily, branch_id=d)
        assert before is not None
        sim.inject(Fault(status=status, route=route, times=None))
        clock.now += 3601
        assert await poller.poll("prod")
        view = svc.state.view()
        assert len(view.projects) == 3
        assert len(view.of("endpoints")) == 3
        assert success(svc, "snapshots") == 0
        assert success(svc, "endpoints") == 1
        assert value(svc, NEWEST, project_id=daily, branch_id=d) == before
        assert value(svc, "neon_exporter_poll_success", key="prod") == 1
