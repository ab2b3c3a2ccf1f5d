"""The operations area over real sockets against the simulator: recent failures, the oldest
operation in progress, the bounds, and the area failing apart."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from exporter.areas.operations import PAGE_LIMIT
from exporter.neon.operations import MAX_FAILED
from exporter.service import Service
from exporter.simulator.model import utcnow
from tests.sim import Fault, Simulator
from tests.support import key_files, make_config, quick_retries, value

ROUTE = "/projects/{project_id}/operations"
ON = {"endpoints": True, "operations": True}
OLDEST = "neon_project_operation_oldest_running_timestamp_seconds"
COUNT = "neon_project_operations_failed"


def success(svc: Service, collector: str) -> float | None:
    return value(svc, "neon_exporter_collector_success", key="prod", collector=collector)


def operations_service(url: str, tmp_path: Path, **changes: object) -> Service:
    return Service(make_config(url, key_files(tmp_path), collectors=ON, **changes))


async def test_recent_failures_and_the_oldest_running_operation(
    world: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recent failure is a series with its time and action, counted by action; a failure
    older than a day is not; the oldest operation in progress gives its creation time; Neon's
    error text is logged once, never a label; one request per project per poll."""
    sim, url = world
    now = utcnow()
    quiet, busy = sim.add_project(), sim.add_project()  # no generated failures or runners
    error = "pageserver unreachable: retry budget exhausted"
    failed = sim.operations.add(
        busy,
        action="start_compute",
        status="failed",
        created_at=now - timedelta(minutes=10),
        updated_at=now - timedelta(minutes=9),
        error=error,
    )
    old = sim.operations.add(
        busy,
        action="apply_config",
        status="failed",
        created_at=now - timedelta(days=2),
        error="old news",
    )
    for minutes, status in ((50, "running"), (95, "error"), (20, "scheduling")):
        sim.operations.add(
            busy,
            action="create_timeline",
            status=status,
            created_at=now - timedelta(minutes=minutes),
        )
    svc = operations_service(url, tmp_path)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        assert await poller.poll("prod")  # the same failure again: not logged again
    at = (now - timedelta(minutes=9)).timestamp()
    assert (
        value(
            svc,
            "neon_operation_failed_timestamp_seconds",
            project_id=busy,
            operation_id=failed,
            action="start_compute",
        )
        == at
    )
    assert (
        value(
            svc,
            "neon_operation_failed_timestamp_seconds",
            project_id=busy,
            operation_id=old,
            action="apply_config",
        )
        is None
    )
    assert value(svc, COUNT, project_id=busy, action="start_compute") == 1
    assert value(svc, COUNT, project_id=busy, action="apply_config") is None
    oldest = value(svc, OLDEST, project_id=busy)
    assert oldest == (now - timedelta(minutes=95)).timestamp()  # "error": still being retried
    assert value(svc, OLDEST, project_id=quiet) is None
    assert success(svc, "operations") == 1
    assert sim.count(ROUTE) == 12  # one a project a poll, the latest page only
    exposition = svc.exposition.rendered().decode()
    assert error not in exposition
    out = capsys.readouterr().out
    assert out.count(error) == 1
    assert failed in out
    assert "old news" not in out


async def test_series_are_bounded_to_the_newest_failures(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """Many recent failures: the newest MAX_FAILED are series, all are counted, and only the
    latest page (PAGE_LIMIT operations) is read."""
    sim, url = world
    pid = sim.add_project()
    now = utcnow()
    ids = [
        sim.operations.add(
            pid,
            action="suspend_compute",
            status="failed",
            created_at=now - timedelta(minutes=i + 1),
            updated_at=now - timedelta(minutes=i),
        )
        for i in range(MAX_FAILED + 5)
    ]
    svc = operations_service(url, tmp_path)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    served = [
        i
        for i in ids
        if value(
            svc,
            "neon_operation_failed_timestamp_seconds",
            project_id=pid,
            operation_id=i,
            action="suspend_compute",
        )
        is not None
    ]
    assert served == ids[:MAX_FAILED]  # the newest
    count = value(svc, COUNT, project_id=pid, action="suspend_compute")
    assert count == MAX_FAILED + 5
    assert PAGE_LIMIT == 100


@pytest.mark.parametrize("status", [500, 404])
async def test_failing_operations_route_keeps_projects_and_other_areas(
    world: tuple[Simulator, str], tmp_path: Path, status: int
) -> None:
    """The operations route answers 500 (after retries) or 404 for every project: the poll
    succeeds with every project and endpoint, operations keeps its last data and says it is
    failing; after poll_max_age its data goes, the projects stay."""
    sim, url = world
    pid = sim.add_project()
    sim.operations.add(pid, action="create_timeline", status="running", created_at=utcnow())
    clock = Clock()
    svc = Service(
        make_config(url, key_files(tmp_path), collectors=ON, poll_max_age=600.0), clock=clock
    )
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        running = value(
            svc, "neon_project_operation_oldest_running_timestamp_seconds", project_id=pid
        )
        assert running is not None
        sim.inject(Fault(status=status, route=ROUTE, times=None))
        clock.now += 60
        assert await poller.poll("prod")
        view = svc.state.view()
        assert len(view.projects) == 5
        assert len(view.of("endpoints")) == 5
        assert success(svc, "operations") == 0
        assert success(svc, "endpoints") == 1
        assert success(svc, "projects") == 1
        assert value(svc, OLDEST, project_id=pid) == running
        clock.now += 600
        assert await poller.poll("prod")
        assert svc.state.view().of("operations") == {}
        assert len(svc.state.view().projects) == 5
        assert value(svc, "neon_exporter_poll_success", key="prod") == 1


class Clock:
    def __init__(self, now: float | None = None) -> None:
        self.now = datetime.now().timestamp() if now is None else now

    def __call__(self) -> float:
        return self.now
