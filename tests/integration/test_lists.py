"""The lists beside the live project list, over real sockets against the simulator: deleted
projects that can still be restored (recoverable), projects shared with the key's account
(shared), and the quota, maintenance and retention fields of the live list items."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from exporter.service import Service
from exporter.simulator.lists import ROUTE_RECOVERABLE, ROUTE_SHARED
from exporter.simulator.model import utcnow
from tests.sim import Fault, Simulator
from tests.support import KEYS, Clock, families, key_files, make_config, quick_retries, value

HOUR = 3600.0


def project_ids(svc: Service, name: str) -> set[str]:
    """The project_id labels of the samples named ``name``, as served."""
    return {
        s.labels["project_id"] for metric in families(svc) for s in metric.samples if s.name == name
    }


def runtime(url: str, tmp_path: Path, clock: Clock, *areas: str, **changes: object) -> Service:
    keys = key_files(tmp_path, tuple(changes.pop("keys", ("prod",))))  # type: ignore[arg-type]
    collectors = {"endpoints": True} | dict.fromkeys(areas, True)
    config = make_config(url, keys, collectors=collectors, **changes)
    return Service(config, clock=clock)


async def test_deleted_projects_are_apart_and_a_deletion_moves_a_project_across(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """A deleted project is never in neon_project_*; it has its info series and both times.
    A project deleted between polls leaves the live series and, at the next hourly refresh of
    the recoverable list, appears among the deleted."""
    sim, url = world
    old = sim.project_ids()[0]
    at = utcnow() - timedelta(days=2)
    sim.lists.delete(old, at=at)
    clock = Clock()
    svc = runtime(url, tmp_path, clock, "recoverable")
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        assert old not in project_ids(svc, "neon_project_info")
        assert project_ids(svc, "neon_deleted_project_info") == {old}
        deleted_at = "neon_deleted_project_deleted_timestamp_seconds"
        until = "neon_deleted_project_recoverable_until_timestamp_seconds"
        assert value(svc, deleted_at, project_id=old) == at.timestamp()
        assert value(svc, until, project_id=old) == (at + timedelta(days=7)).timestamp()

        moving = sim.project_ids()[0]
        sim.lists.delete(moving)
        clock.now += 60
        assert await poller.poll("prod")  # the live list no longer has it; not yet refreshed
        assert moving not in project_ids(svc, "neon_project_info")
        assert moving not in project_ids(svc, "neon_deleted_project_info")
        assert sim.count(ROUTE_RECOVERABLE) == 1  # hourly, not every poll
        clock.now += HOUR
        assert await poller.poll("prod")
        assert project_ids(svc, "neon_deleted_project_info") == {old, moving}
        assert moving not in project_ids(svc, "neon_project_info")
        assert len(project_ids(svc, "neon_project_info")) == 2
    assert sim.count(ROUTE_RECOVERABLE) == 2
    assert value(svc, "neon_projects", key="prod") == 2


@pytest.mark.parametrize(
    ("area", "route", "family"),
    [
        ("recoverable", ROUTE_RECOVERABLE, "neon_deleted_project_info"),
        ("shared", ROUTE_SHARED, "neon_shared_project_info"),
    ],
)
@pytest.mark.parametrize("status", [404, 500])
async def test_a_failing_list_keeps_the_rest_and_its_own_last_data(
    world: tuple[Simulator, str], tmp_path: Path, area: str, route: str, family: str, status: int
) -> None:
    """The list answers 404 or 500 (retries spent): the poll succeeds with every project and
    endpoint, the area keeps its last data and says it is failing; it recovers."""
    sim, url = world
    sim.lists.delete(sim.project_ids()[0])
    sim.lists.add_shared(name="partner-db")
    clock = Clock()
    svc = runtime(url, tmp_path, clock, area, poll_max_age=3 * HOUR)
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        before = project_ids(svc, family)
        assert len(before) == 1
        sim.inject(Fault(status=status, route=route, times=None))
        clock.now += HOUR
        assert await poller.poll("prod")
        assert value(svc, "neon_exporter_collector_success", key="prod", collector=area) == 0
        assert value(svc, "neon_exporter_collector_success", key="prod", collector="endpoints") == 1
        assert value(svc, "neon_exporter_poll_success", key="prod") == 1
        assert len(project_ids(svc, "neon_project_info")) == 3
        assert len(svc.state.view().of("endpoints")) == 3
        assert project_ids(svc, family) == before  # last good data kept
        sim.clear_faults()
        clock.now += 60  # a failing area is due again at the next poll
        assert await poller.poll("prod")
    assert value(svc, "neon_exporter_collector_success", key="prod", collector=area) == 1
    assert project_ids(svc, family) == before


async def test_shared_projects_are_apart_from_owned_ones(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """Projects shared with the account have their own series and count per key, never
    neon_project_*; one that another configured key owns is shown as owned only."""
    sim, url = world
    partner = sim.lists.add_shared(name="partner-db", size_bytes=10 << 20, permission="CAN_EDIT")
    bare = sim.lists.add_shared(permission=None)
    owned_by_prod = sim.add_project(name="prod-only", visible_to=["prod"])
    sim.lists.add_shared(project_id=owned_by_prod, visible_to=["staging"])
    svc = runtime(url, tmp_path, Clock(), "shared", keys=("prod", "staging"))
    async with svc.pollers() as poller:
        assert await poller.poll_all()
    assert project_ids(svc, "neon_shared_project_info") == {partner, bare}
    assert not project_ids(svc, "neon_project_info") & {partner, bare}
    assert owned_by_prod in project_ids(svc, "neon_project_info")
    labels = {
        "project_id": partner,
        "project_name": "partner-db",
        "region_id": "aws-eu-central-1",
        "org_id": "org-partner-40000000",
        "pg_version": "17",
        "permission": "CAN_EDIT",
    }
    assert value(svc, "neon_shared_project_info", **labels) == 1
    assert value(svc, "neon_shared_project_size_bytes", project_id=partner) == 10 << 20
    assert value(svc, "neon_shared_projects", key="prod") == 2
    assert value(svc, "neon_shared_projects", key="staging") == 3
    assert value(svc, "neon_projects", key="prod") == 5  # the owned count is unchanged
    assert sim.count(ROUTE_SHARED) == 2  # one per key


async def test_v1_keys_list_no_shared_or_deleted_projects(tmp_path: Path) -> None:
    """The v1 API has neither list (nor any area): no request for them, no series."""
    sim = Simulator(keys=KEYS, projects=2, seed=21)
    sim.lists.add_shared()
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("/api/v1"))
        svc = runtime(url, tmp_path, Clock(), "shared", "recoverable")
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
    finally:
        await server.close()
    assert project_ids(svc, "neon_shared_project_info") == set()
    assert project_ids(svc, "neon_deleted_project_info") == set()
    assert sim.count(ROUTE_SHARED) == 0
    assert value(svc, "neon_projects", key="prod") == 2  # the poll itself is fine


async def test_quota_maintenance_and_retention_from_the_live_list(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """Each positive quota limit is a gauge; a zero one (unlimited) has none; maintenance,
    quota reset, history retention and this period's active time come with the list, at no
    request of their own."""
    sim, url = world
    with_quota, without = sim.project_ids()[:2]
    project = sim.world.projects[with_quota]
    project.quota = {"compute_time_seconds": 7200, "written_data_bytes": 0}
    project.active_time_seconds = 4000
    starts = utcnow() + timedelta(hours=5)
    project.maintenance_starts_at = starts
    svc = runtime(url, tmp_path, Clock())
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert value(svc, "neon_project_quota_compute_time_seconds", project_id=with_quota) == 7200
    assert project_ids(svc, "neon_project_quota_compute_time_seconds") == {with_quota}
    assert project_ids(svc, "neon_project_quota_written_data_bytes") == set()  # zero: unlimited
    assert project_ids(svc, "neon_project_quota_reset_timestamp_seconds") == {with_quota}
    reset = value(svc, "neon_project_quota_reset_timestamp_seconds", project_id=with_quota)
    assert reset is not None
    assert reset > starts.timestamp() - 31 * 86400
    maintenance = "neon_project_maintenance_starts_timestamp_seconds"
    assert value(svc, maintenance, project_id=with_quota) == starts.timestamp()
    assert value(svc, maintenance, project_id=without) is None
    assert value(svc, "neon_project_history_retention_seconds", project_id=without) == 86400
    active = "neon_project_period_active_time_seconds"
    assert value(svc, active, project_id=with_quota) == 4000
    assert sim.count("/projects/{project_id}") == 0  # nothing fetched per project for these


@pytest.mark.parametrize(
    ("area", "route"), [("recoverable", ROUTE_RECOVERABLE), ("shared", ROUTE_SHARED)]
)
async def test_the_list_interval_is_a_setting(
    world: tuple[Simulator, str], tmp_path: Path, area: str, route: str
) -> None:
    """--collector.NAME.interval 5m: the list is fetched again after five minutes, not an hour."""
    sim, url = world
    clock = Clock()
    svc = runtime(url, tmp_path, clock, area, **{f"{area}_interval": 300.0})
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        clock.now += 299
        assert await poller.poll("prod")
        assert sim.count(route) == 1
        clock.now += 1
        assert await poller.poll("prod")
    assert sim.count(route) == 2
