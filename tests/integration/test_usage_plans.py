"""Usage on every kind of plan: v2 consumption history on usage-based plans, the legacy route on
legacy plans, GET /projects/{id} on neither; learnt per key and organization from Neon's 403s,
remembered, tried again every usage interval, and never tripping the key.

Over real sockets against the simulator, with an injected wall clock for the interval.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from exporter.areas.usage import METERED
from exporter.service import Service
from exporter.simulator.billing import v2_metrics
from tests.sim import Fault, Simulator
from tests.support import KEYS, key_files, make_config, quick_retries, value

V2 = "/consumption_history/v2/projects"
LEGACY = "/consumption_history/projects"
PROJECT = "/projects/{project_id}"
ORG = "org-usage-1"
INTERVAL = 900.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def served() -> AsyncIterator[list[TestServer]]:
    servers: list[TestServer] = []
    yield servers
    for server in servers:
        await server.close()


async def start(servers: list[TestServer], sim: Simulator) -> str:
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    servers.append(server)
    return str(server.make_url("/api/v2"))


def runtime(url: str, tmp_path: Path, clock: Clock, **changes: object) -> Service:
    config = make_config(
        url,
        key_files(tmp_path),
        collectors={"endpoints": False, "usage": True},
        usage_interval=INTERVAL,
        poll_max_age=4 * INTERVAL,
        **changes,
    )
    return Service(config, clock=clock)


def assert_metered(svc: Service, sim: Simulator, pids: list[str]) -> None:
    """Every v2 gauge of these projects equals the simulator's value; no legacy gauge."""
    for pid in pids:
        expected = v2_metrics(sim.world.projects[pid])
        for metric, (name, _) in METERED.items():
            assert value(svc, name, project_id=pid) == expected[metric], (pid, name)
        assert value(svc, "neon_project_active_time_seconds", project_id=pid) is None


def assert_legacy(svc: Service, sim: Simulator, pids: list[str], *, transfer: bool) -> None:
    for pid in pids:
        p = sim.world.projects[pid]
        assert value(svc, "neon_project_compute_time_seconds", project_id=pid) == (
            p.compute_time_seconds
        )
        assert value(svc, "neon_project_data_transfer_bytes", project_id=pid) == (
            p.data_transfer_bytes if transfer else None
        )
        assert value(svc, "neon_project_compute_unit_seconds", project_id=pid) is None


async def test_usage_based_plan_answers_from_v2_100_projects_a_request(
    served: list[TestServer], tmp_path: Path
) -> None:
    """150 projects of one organization on a usage-based plan: 2 v2 requests (the org_id from
    the project list, no other request), no legacy or per-project request; every gauge equals
    Neon's value; refreshed only after the usage interval."""
    sim = Simulator(keys=KEYS, projects=150, endpoints_per_project=0, org_id=ORG, plan="usage")
    clock = Clock()
    svc = runtime(await start(served, sim), tmp_path, clock)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        assert (sim.count(V2, status=200), sim.count(LEGACY), sim.count(PROJECT)) == (2, 0, 0)
        assert sim.count("/users/me/organizations") == 0
        assert_metered(svc, sim, sim.project_ids())
        pid = sim.project_ids()[0]
        sim.world.projects[pid].compute_time_seconds += 500
        clock.now += 60
        assert await poller.poll("prod")
        assert sim.count(V2) == 2  # within the interval: nothing due
        clock.now += INTERVAL
        assert await poller.poll("prod")
    assert sim.count(V2) == 4
    assert_metered(svc, sim, [pid])
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="usage") == 1


async def test_legacy_plan_learnt_from_one_403_and_v2_tried_again_each_interval(
    served: list[TestServer], tmp_path: Path
) -> None:
    """A legacy plan: v2 answers 403 once, the legacy route serves; within the interval the
    403 is remembered (no v2 request), past it v2 is tried once more; the key stays valid."""
    sim = Simulator(keys=KEYS, projects=5, endpoints_per_project=0, org_id=ORG, plan="legacy")
    clock = Clock()
    svc = runtime(await start(served, sim), tmp_path, clock)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        assert (sim.count(V2, status=403), sim.count(LEGACY, status=200)) == (1, 1)
        assert_legacy(svc, sim, sim.project_ids(), transfer=False)
        clock.now += 60
        assert await poller.poll("prod")
        await poller.check_key("prod")
        assert (sim.count(V2), sim.count(LEGACY)) == (1, 1)
        clock.now += INTERVAL
        assert await poller.poll("prod")
    assert (sim.count(V2, status=403), sim.count(LEGACY, status=200)) == (2, 2)
    assert sim.count(PROJECT) == 0
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="usage") == 1


async def test_neither_route_falls_back_to_project_detail_and_retries_both(
    served: list[TestServer], tmp_path: Path
) -> None:
    """A plan with no consumption history: v2 403, legacy 403, then GET /projects/{id} per
    project; past the interval both are tried once more; the key is never tripped."""
    sim = Simulator(keys=KEYS, projects=4, endpoints_per_project=0, org_id=ORG, plan="free")
    clock = Clock()
    svc = runtime(await start(served, sim), tmp_path, clock)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        assert (sim.count(V2, status=403), sim.count(LEGACY, status=403)) == (1, 1)
        assert sim.count(PROJECT) == 4
        assert_legacy(svc, sim, sim.project_ids(), transfer=True)
        clock.now += 60
        assert await poller.poll("prod")
        assert (sim.count(V2), sim.count(LEGACY), sim.count(PROJECT)) == (1, 1, 4)
        clock.now += INTERVAL
        assert await poller.poll("prod")
    assert (sim.count(V2, status=403), sim.count(LEGACY, status=403)) == (2, 2)
    assert sim.count(PROJECT) == 8
    assert value(svc, "neon_api_key_valid", key="prod") == 1


async def test_an_upgrade_is_learnt_at_the_next_retry_and_orgs_are_learnt_apart(
    served: list[TestServer], tmp_path: Path
) -> None:
    """One key, two organizations: one usage-based, one legacy, each on its own route. When
    the legacy one upgrades, v2 serves it from the next retry on, and legacy is no longer
    asked."""
    sim = Simulator(keys=KEYS, projects=3, endpoints_per_project=0, org_id=ORG, plan="usage")
    old = [sim.add_project(org_id="org-old-2", endpoints=0) for _ in range(2)]
    sim.billing.org_plans["org-old-2"] = "legacy"
    new = [pid for pid in sim.project_ids() if pid not in old]
    clock = Clock()
    svc = runtime(await start(served, sim), tmp_path, clock)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        assert sim.count(V2, status=200) == 1  # org-usage-1
        assert sim.count(V2, status=403) == 1  # org-old-2, then legacy
        assert sim.count(LEGACY, status=200) == 1
        assert_metered(svc, sim, new)
        assert_legacy(svc, sim, old, transfer=False)
        sim.billing.org_plans["org-old-2"] = "usage"  # the organization moves to Launch
        clock.now += INTERVAL
        assert await poller.poll("prod")
        clock.now += INTERVAL
        assert await poller.poll("prod")
    assert sim.count(V2, status=200) == 5  # both organizations, both polls
    assert sim.count(LEGACY) == 1
    assert_metered(svc, sim, new + old)
    assert value(svc, "neon_api_key_valid", key="prod") == 1


async def test_v2_pages_are_followed_by_cursor(served: list[TestServer], tmp_path: Path) -> None:
    """Neon pages below the limit asked for: the cursor is followed until every project asked
    for is seen, each page counted in the budget."""
    sim = Simulator(keys=KEYS, projects=70, endpoints_per_project=0, org_id=ORG, plan="usage")
    sim.billing.v2_page_size = 30
    clock = Clock()
    svc = runtime(await start(served, sim), tmp_path, clock)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert sim.count(V2) == 3
    assert_metered(svc, sim, sim.project_ids())
    assert value(svc, "neon_exporter_api_requests_total", key="prod", route=V2, code="200") == 3


@pytest.mark.parametrize("status", [404, 406, 500])
async def test_failing_v2_keeps_projects_and_last_usage(
    served: list[TestServer], tmp_path: Path, status: int
) -> None:
    """v2 answering 404 (not a member of org_id), 406 (range) or 500: the poll succeeds with
    every project, usage keeps its last values and says it is failing; no fallback (only a 403
    means "not on this plan") and the key stays valid."""
    sim = Simulator(keys=KEYS, projects=3, endpoints_per_project=0, org_id=ORG, plan="usage")
    clock = Clock()
    svc = runtime(await start(served, sim), tmp_path, clock)
    pid = sim.project_ids()[0]
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        before = value(svc, "neon_project_compute_unit_seconds", project_id=pid)
        assert before is not None
        sim.inject(Fault(status=status, route=V2, times=None))
        clock.now += INTERVAL
        assert await poller.poll("prod")
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    assert len(svc.state.view().projects) == 3
    assert value(svc, "neon_project_compute_unit_seconds", project_id=pid) == before
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="usage") == 0
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="projects") == 1
    assert (sim.count(LEGACY), sim.count(PROJECT)) == (0, 0)
    assert value(svc, "neon_api_key_valid", key="prod") == 1
