"""The organization areas over real sockets against the simulator: security posture (members,
MFA, invitations), the identities opt-in, and VPC endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exporter.service import Service
from tests.sim import Fault, Simulator
from tests.support import KEYS, families, key_files, make_config, served, value

ORG = "org-sec-1"
MEMBERS = "/organizations/{org_id}/members"
INVITATIONS = "/organizations/{org_id}/invitations"
VPC = "/organizations/{org_id}/vpc/vpc_endpoints"
VPC_ONE = "/organizations/{org_id}/vpc/region/{region_id}/vpc_endpoints/{vpc_endpoint_id}"
SECURITY = {"endpoints": False, "org_security": True}


@pytest.fixture
async def world() -> AsyncIterator[tuple[Simulator, str]]:
    sim = Simulator(keys=KEYS, projects=4, endpoints_per_project=0, org_id=ORG, plan="usage")
    sim.organizations.populate_demo(ORG, sim.project_ids())
    async with served(sim) as url:
        yield sim, url


async def polled(url: str, tmp_path: Path, collectors: dict[str, bool]) -> Service:
    svc = Service(make_config(url, key_files(tmp_path), collectors=collectors))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    return svc


async def test_posture_counts_without_identities(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """Members per role (active ones), admins without MFA, the deactivated member, the one
    pending invitation (the other's e-mail is a member's: accepted) and its time; no e-mail or
    user id in the exposition; a second page of members is followed."""
    sim, url = world
    sim.organizations.org(ORG).members[0].has_mfa = True
    svc = await polled(url, tmp_path, SECURITY)
    assert sim.count(MEMBERS) == 1
    assert value(svc, "neon_organization_members", org_id=ORG, role="admin") == 2
    assert value(svc, "neon_organization_members", org_id=ORG, role="member") == 1
    assert value(svc, "neon_organization_members_without_mfa", org_id=ORG, role="admin") == 1
    assert value(svc, "neon_organization_deactivated_members", org_id=ORG) == 1
    assert value(svc, "neon_organization_pending_invitations", org_id=ORG) == 1
    invited = sim.organizations.org(ORG).invitations[0].invited_at.timestamp()
    oldest = "neon_organization_oldest_pending_invitation_timestamp_seconds"
    assert value(svc, oldest, org_id=ORG) == invited
    assert value(svc, "neon_organization_mfa_required", org_id=ORG) == 0
    body = svc.exposition.rendered().decode()
    assert "example.com" not in body
    assert sim.organizations.org(ORG).members[0].user_id not in body


async def test_identities_are_a_further_opt_in(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """The identities opt-in names each member; with the account area on too, the
    organization's families (both areas serve them) are written once."""
    sim, url = world
    on = {**SECURITY, "org_members_identity": True, "account": True}
    svc = await polled(url, tmp_path, on)
    body = svc.exposition.rendered().decode()
    assert body.count("# TYPE neon_organization_mfa_required ") == 1
    assert value(svc, "neon_organization_info", org_id=ORG, plan="launch") == 1
    grace = next(m for m in sim.organizations.org(ORG).members if m.email.startswith("grace"))
    labels = {"org_id": ORG, "user_id": grace.user_id, "email": grace.email, "role": "admin"}
    assert value(svc, "neon_organization_member_info", **labels) == 1
    mfa = "neon_organization_member_mfa_enabled"
    assert value(svc, mfa, org_id=ORG, user_id=grace.user_id) == 0


@pytest.mark.parametrize("status", [403, 404])
async def test_unreadable_members_or_invitations_are_left_out(
    world: tuple[Simulator, str], tmp_path: Path, status: int
) -> None:
    """A key that may not read the members (403/404) leaves their series out; invitations and
    the organization still count, and the area is successful."""
    sim, url = world
    sim.inject(Fault(status=status, route=MEMBERS, times=None))
    svc = await polled(url, tmp_path, SECURITY)
    names = {f.name for f in families(svc)}
    assert "neon_organization_members" not in names
    assert value(svc, "neon_organization_pending_invitations", org_id=ORG) == 2
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="org_security") == 1


async def test_failing_invitations_fail_the_area_alone(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, url = world
    sim.inject(Fault(status=500, route=INVITATIONS, times=None))
    svc = await polled(url, tmp_path, SECURITY)
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="org_security") == 0
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    assert len(svc.state.view().projects) == 4


async def test_vpc_endpoints_state_and_restricted_projects(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """The list, then each endpoint's detail: its state as a state set, the number of projects
    restricted to it and the (at most 3) Neon names."""
    sim, url = world
    svc = await polled(url, tmp_path, {"endpoints": False, "vpc_endpoints": True})
    assert (sim.count(VPC), sim.count(VPC_ONE)) == (1, 2)
    prod, staging = (e.id for e in sim.organizations.org(ORG).vpc_endpoints)
    state = "neon_vpc_endpoint_state"
    assert value(svc, state, org_id=ORG, vpc_endpoint_id=prod, state="accepted") == 1
    assert value(svc, state, org_id=ORG, vpc_endpoint_id=staging, state="new") == 1
    assert value(svc, state, org_id=ORG, vpc_endpoint_id=staging, state="accepted") == 0
    restricted = "neon_vpc_endpoint_restricted_projects"
    assert value(svc, restricted, org_id=ORG, vpc_endpoint_id=prod) == 4
    named = [f for f in families(svc) if f.name == "neon_vpc_endpoint_restricted_project"]
    assert len(named[0].samples) == 3
    info = "neon_vpc_endpoint_info"
    labels = {"org_id": ORG, "region_id": "aws-us-east-2", "label": "prod-vpc"}
    assert value(svc, info, vpc_endpoint_id=prod, **labels) == 1


@pytest.mark.parametrize("plan", ["free", "404"])
async def test_vpc_not_on_the_plan_or_not_readable_has_no_series(
    world: tuple[Simulator, str], tmp_path: Path, plan: str
) -> None:
    sim, url = world
    if plan == "free":
        sim.billing.org_plans[ORG] = "free"  # the simulator answers 403
    else:
        sim.inject(Fault(status=404, route=VPC, times=None))
    svc = await polled(url, tmp_path, {"endpoints": False, "vpc_endpoints": True})
    assert sim.count(VPC_ONE) == 0
    assert not [f for f in families(svc) if f.name.startswith("neon_vpc_endpoint")]
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="vpc_endpoints") == 1


async def test_vpc_detail_failing_fails_the_area_alone(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, url = world
    sim.inject(Fault(status=500, route=VPC_ONE, times=None))
    svc = await polled(url, tmp_path, {"endpoints": False, "vpc_endpoints": True})
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="vpc_endpoints") == 0
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
