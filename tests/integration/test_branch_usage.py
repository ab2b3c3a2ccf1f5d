"""Usage per branch (``--collector.branch_usage``) over real sockets against the simulator: one
request per 100 projects of an organization, paged by 1,000 branches; a plan without the route
(403) or a missing organization (404) costs no request per project and shows no series."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.service import Service
from exporter.simulator.branch_usage import branch_metrics
from tests.sim import Fault, Simulator
from tests.support import KEYS, families, key_files, make_config, served, value

ORG = "org-branches-1"
ROUTE = "/consumption_history/v2/branches"
ON = {"endpoints": False, "branch_usage": True}


async def poll(sim: Simulator, tmp_path: Path) -> Service:
    async with served(sim) as url:
        svc = Service(make_config(url, key_files(tmp_path), collectors=ON))
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
    return svc


def branch_series(svc: Service) -> int:
    return sum(len(f.samples) for f in families(svc) if f.name.startswith("neon_branch_"))


async def test_each_branch_gets_six_series_from_one_request(tmp_path: Path) -> None:
    sim = Simulator(keys=KEYS, projects=3, endpoints_per_project=1, org_id=ORG, plan="usage")
    pid = sim.project_ids()[0]
    (child,) = sim.add_branches(pid, 1)
    svc = await poll(sim, tmp_path)
    assert sim.count(ROUTE) == 1
    assert branch_series(svc) == 6 * 4
    project = sim.world.projects[pid]
    expected = branch_metrics(project, next(b for b in project.branches if b.id == child))
    name = "neon_branch_compute_unit_seconds"
    assert value(svc, name, project_id=pid, branch_id=child) == expected["compute_unit_seconds"]


async def test_more_than_a_page_of_branches_is_followed(tmp_path: Path) -> None:
    sim = Simulator(keys=KEYS, projects=1, endpoints_per_project=1, org_id=ORG, plan="usage")
    sim.add_branches(sim.project_ids()[0], 1000)
    svc = await poll(sim, tmp_path)
    assert sim.count(ROUTE) == 2
    assert branch_series(svc) == 6 * 1001


@pytest.mark.parametrize("plan", ["legacy", "free"])
async def test_plan_without_the_route_has_no_series_and_costs_one_403(
    tmp_path: Path, plan: str
) -> None:
    sim = Simulator(keys=KEYS, projects=3, endpoints_per_project=1, org_id=ORG, plan=plan)
    svc = await poll(sim, tmp_path)
    assert (sim.count(ROUTE), sim.count(ROUTE, status=403)) == (1, 1)
    assert branch_series(svc) == 0
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="branch_usage") == 1
    assert value(svc, "neon_api_key_valid", key="prod") == 1


async def test_not_a_member_fails_the_area_alone(tmp_path: Path) -> None:
    """The document's 404 ("not a member of the organization"): the area fails, the rest not."""
    sim = Simulator(keys=KEYS, projects=3, endpoints_per_project=1, org_id=ORG, plan="usage")
    sim.inject(Fault(status=404, route=ROUTE, times=None))
    svc = await poll(sim, tmp_path)
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="branch_usage") == 0
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    assert len(svc.state.view().projects) == 3
