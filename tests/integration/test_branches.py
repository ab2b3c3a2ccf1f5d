"""The branches collector over real sockets against the simulator."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp.test_utils import TestServer

from exporter.service import Service
from tests.sim import Simulator
from tests.support import KEYS, families, value

Build = Callable[..., Service]
ROUTE = "/projects/{project_id}/branches"


async def poll(svc: Service) -> bool:
    async with svc.pollers() as poller:
        return await poller.poll("prod")


async def test_branch_pages_are_followed_to_the_end(service_for: Build) -> None:
    """Eight branches at three a page: pagination.next is followed and every branch is served."""
    sim = Simulator(keys=KEYS, projects=0, branch_page_size=3)
    pid = sim.add_project(project_id="many-branches-000001", endpoints=1, size_bytes=4096)
    added = sim.add_branches(pid, 7)
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    try:
        svc = service_for(str(server.make_url("/api/v2")), collectors={"branches": True})
        assert await poll(svc)
    finally:
        await server.close()
    assert sim.count(ROUTE) == 3
    branches = svc.state.view().of("branches")[pid]
    assert [b.id for b in branches][1:] == added
    main = branches[0]
    assert value(
        svc,
        "neon_branch_info",
        project_id=pid,
        branch_id=main.id,
        branch_name="main",
        default="true",
        protected="false",
        state="ready",
    )
    assert value(svc, "neon_branch_logical_size_bytes", project_id=pid, branch_id=main.id) == 4096
    assert value(svc, "neon_branch_logical_size_bytes", project_id=pid, branch_id=added[0]) == 2048
    # The branch name is a label of the info metric only (bounded cardinality).
    names = {m.name: m for m in families(svc)}
    for sample in names["neon_branch_logical_size_bytes"].samples:
        assert set(sample.labels) == {"project_id", "branch_id"}


async def test_branches_off_by_default_costs_nothing(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """With the default collectors no branch request is made and no branch series is served."""
    svc = service_for(sim_url)
    assert await poll(svc)
    assert sim.count(ROUTE) == 0
    assert not svc.state.view().of("branches")
    assert "neon_branch" not in {m.name for m in families(svc)}


async def test_deleted_project_between_list_and_branches_vanishes(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """A 404 on a project's branches means it is gone: it leaves the metrics, the poll is good."""
    from tests.sim import Fault

    svc = service_for(sim_url, collectors={"endpoints": False, "branches": True})
    sim.inject(Fault(status=404, route=ROUTE, times=1))
    assert await poll(svc)
    assert len(svc.state.view().projects) == 4
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
