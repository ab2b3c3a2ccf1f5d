"""The account area (limits, plan, billing state; an organization key's organization), over real
sockets against the simulator."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exporter.service import Service
from tests.sim import Fault, Simulator
from tests.support import KEYS, families, key_files, make_config, served, value

ORG = "org-acct-1"
ON = {"endpoints": False, "account": True}
ME, ORG_ROUTE, MY_ORGS = "/users/me", "/organizations/{org_id}", "/users/me/organizations"


@pytest.fixture
async def world() -> AsyncIterator[tuple[Simulator, str]]:
    sim = Simulator(keys=KEYS, projects=2, endpoints_per_project=0, org_id=ORG, plan="usage")
    async with served(sim) as url:
        yield sim, url


async def test_personal_key_limits_plan_and_billing_state(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """One GET /users/me: the limits, the plan and the billing state as a state set; nothing
    that identifies the user (e-mail, id) anywhere in the exposition."""
    sim, url = world
    sim.organizations.billing_state = "suspended"
    svc = Service(make_config(url, key_files(tmp_path), collectors=ON))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert (sim.count(ME), sim.count(ORG_ROUTE)) == (1, 0)
    assert value(svc, "neon_account_projects_limit", key="prod") == 100
    assert value(svc, "neon_account_branches_limit", key="prod") == 10
    assert value(svc, "neon_account_max_autoscaling_limit_cu", key="prod") == 16
    assert value(svc, "neon_account_info", key="prod", plan="launch") == 1
    assert value(svc, "neon_account_billing_state", key="prod", state="suspended") == 1
    assert value(svc, "neon_account_billing_state", key="prod", state="active") == 0
    body = svc.exposition.rendered().decode()
    assert "example.com" not in body
    assert "7b5e1a4c" not in body


async def test_no_autoscaling_limit_or_billing_account_is_absent(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, url = world
    sim.organizations.max_autoscaling_limit = 0  # "no limit is configured"
    sim.organizations.billing_state = None
    svc = Service(make_config(url, key_files(tmp_path), collectors=ON))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    names = {f.name for f in families(svc)}
    assert "neon_account_max_autoscaling_limit_cu" not in names
    assert "neon_account_billing_state" not in names
    assert value(svc, "neon_account_projects_limit", key="prod") == 100


async def test_organization_key_gets_its_organization(tmp_path: Path) -> None:
    """An organization key has no user: its organization (listed, then read) gives the plan
    and whether MFA is required; /users/me is never asked."""
    sim = Simulator(keys=KEYS, projects=2, org_id=ORG, plan="usage", org_keys={"prod": ORG})
    sim.organizations.org(ORG).require_mfa = True
    async with served(sim) as url:
        svc = Service(make_config(url, key_files(tmp_path), collectors=ON))
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
    assert (sim.count(ME), sim.count(MY_ORGS), sim.count(ORG_ROUTE)) == (0, 1, 1)
    assert value(svc, "neon_organization_info", org_id=ORG, plan="launch") == 1
    assert value(svc, "neon_organization_mfa_required", org_id=ORG) == 1
    assert "neon_account_projects_limit" not in {f.name for f in families(svc)}


@pytest.mark.parametrize("status", [403, 404])
async def test_failing_route_keeps_projects_and_says_so(
    world: tuple[Simulator, str], tmp_path: Path, status: int
) -> None:
    """/users/me failing (403, 404) fails the area alone; an organization answering 403/404
    (a configured org_id the key may not read) is left out and the rest still counts."""
    sim, url = world
    sim.inject(Fault(status=status, route=ME, times=None))
    svc = Service(make_config(url, key_files(tmp_path), collectors=ON))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert len(svc.state.view().projects) == 2
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="account") == 0
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    sim.clear_faults()
    sim.inject(Fault(status=status, route=ORG_ROUTE, times=None))
    keys = tuple(dataclasses.replace(k, org_id=ORG) for k in key_files(tmp_path))
    svc = Service(make_config(url, keys, collectors=ON))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="account") == 1
    assert value(svc, "neon_account_projects_limit", key="prod") == 100
    assert "neon_organization_info" not in {f.name for f in families(svc)}
