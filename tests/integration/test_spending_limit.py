"""The spending_limit area: each organization's limit, over real sockets against the simulator."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exporter.service import Service
from tests.sim import Fault, Simulator
from tests.support import KEYS, key_files, make_config, served, value

ORGS = "/users/me/organizations"
LIMIT = "/organizations/{org_id}/billing/spending_limit"
ORG = "org-spend-1"
COLLECTORS = {"endpoints": False, "spending_limit": True}


@pytest.fixture
async def world() -> AsyncIterator[tuple[Simulator, str]]:
    sim = Simulator(keys=KEYS, projects=3, endpoints_per_project=0, org_id=ORG, plan="usage")
    sim.add_project(org_id="org-old-2", endpoints=0)
    sim.billing.org_plans["org-old-2"] = "legacy"
    async with served(sim) as url:
        yield sim, url


async def test_limits_of_the_keys_organizations_in_dollars(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """Without org_id: the key's organizations (one request), then each one's limit; a legacy
    plan's 403 leaves that organization out and never trips the key."""
    sim, url = world
    sim.billing.spending_limits[ORG] = 123_45
    svc = Service(make_config(url, key_files(tmp_path), collectors=COLLECTORS))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert (sim.count(ORGS), sim.count(LIMIT, status=200), sim.count(LIMIT, status=403)) == (
        1,
        1,
        1,
    )
    assert value(svc, "neon_organization_spending_limit_dollars", org_id=ORG) == 123.45
    assert value(svc, "neon_organization_spending_limit_dollars", org_id="org-old-2") is None
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    assert (
        value(svc, "neon_exporter_collector_success", key="prod", collector="spending_limit") == 1
    )


async def test_configured_org_costs_one_request_and_no_limit_is_absent(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """A key configured with org_id asks for that organization only; a limit of null (none
    set) is no series, never 0."""
    sim, url = world
    sim.billing.spending_limits[ORG] = None
    keys = tuple(dataclasses.replace(k, org_id=ORG) for k in key_files(tmp_path))
    svc = Service(make_config(url, keys, collectors=COLLECTORS))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert (sim.count(ORGS), sim.count(LIMIT)) == (0, 1)
    assert value(svc, "neon_organization_spending_limit_dollars", org_id=ORG) is None
    assert (
        value(svc, "neon_exporter_collector_success", key="prod", collector="spending_limit") == 1
    )


async def test_failing_route_keeps_projects_and_says_so(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, url = world
    sim.inject(Fault(status=404, route=ORGS, times=None))
    svc = Service(make_config(url, key_files(tmp_path), collectors=COLLECTORS))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert len(svc.state.view().projects) == 4
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    assert (
        value(svc, "neon_exporter_collector_success", key="prod", collector="spending_limit") == 0
    )
    assert value(svc, "neon_api_key_valid", key="prod") == 1
