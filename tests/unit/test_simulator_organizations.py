"""The simulator's user, organization, member, invitation and VPC endpoint routes answer as
Neon's official document says (schema-validated), and their errors are GeneralErrors."""

from __future__ import annotations

from datetime import UTC, datetime

from pytest_aiohttp import AiohttpClient

from tests.sim import Simulator
from tests.unit.test_simulator import KEYS, auth, get_json, response_pointer, validate

ORG = "org-morning-bread-81040908"
TOKENS = {**KEYS, "orgkey": "tok-org-secret"}


def simulator(plan: str = "usage") -> Simulator:
    sim = Simulator(keys=TOKENS, projects=4, org_id=ORG, plan=plan, org_keys={"orgkey": ORG})
    sim.organizations.populate_demo(ORG, sim.project_ids())
    return sim


async def test_user_and_organization_validate(aiohttp_client: AiohttpClient) -> None:
    sim = simulator()
    client = await aiohttp_client(sim.make_app())
    me = await get_json(client, "/api/v2/users/me")
    validate(me, response_pointer("/users/me"))
    assert me["billing_account"]["state"] == "active"
    sim.organizations.billing_state = None  # a user without a billing account
    assert "billing_account" not in await get_json(client, "/api/v2/users/me")
    org = await get_json(client, f"/api/v2/organizations/{ORG}")
    validate(org, response_pointer("/organizations/{org_id}"))
    assert org["require_mfa"] is False
    resp = await client.get("/api/v2/users/me", headers={"Authorization": "Bearer tok-org-secret"})
    assert resp.status == 403
    validate(await resp.json(), "/components/schemas/GeneralError")
    resp = await client.get("/api/v2/organizations/org-other-1", headers=auth())
    assert resp.status == 404
    validate(await resp.json(), "/components/schemas/GeneralError")


async def test_members_and_invitations_validate_and_page(aiohttp_client: AiohttpClient) -> None:
    sim = simulator()
    client = await aiohttp_client(sim.make_app())
    first = await get_json(client, f"/api/v2/organizations/{ORG}/members?limit=3")
    validate(first, response_pointer("/organizations/{org_id}/members"))
    cursor = first["pagination"]["next"]
    rest = await get_json(client, f"/api/v2/organizations/{ORG}/members?limit=3&cursor={cursor}")
    validate(rest, response_pointer("/organizations/{org_id}/members"))
    assert "next" not in rest["pagination"]
    users = [m["user"] for m in first["members"] + rest["members"]]
    assert len(users) == 5
    assert sum("deactivated_at" in u for u in users) == 1
    invitations = await get_json(client, f"/api/v2/organizations/{ORG}/invitations")
    validate(invitations, response_pointer("/organizations/{org_id}/invitations"))
    assert len(invitations["invitations"]) == 2


async def test_vpc_endpoints_validate_and_need_a_paid_plan(aiohttp_client: AiohttpClient) -> None:
    sim = simulator()
    client = await aiohttp_client(sim.make_app())
    listed = await get_json(client, f"/api/v2/organizations/{ORG}/vpc/vpc_endpoints")
    validate(listed, response_pointer("/organizations/{org_id}/vpc/vpc_endpoints"))
    one = listed["endpoints"][0]
    path = f"/organizations/{ORG}/vpc/region/{one['region_id']}/vpc_endpoints/"
    detail = await get_json(client, "/api/v2" + path + one["vpc_endpoint_id"])
    template = "/organizations/{org_id}/vpc/region/{region_id}/vpc_endpoints/{vpc_endpoint_id}"
    validate(detail, response_pointer(template))
    assert detail["state"] == "accepted"
    assert detail["num_restricted_projects"] == 4
    assert len(detail["example_restricted_projects"]) == 3
    resp = await client.get("/api/v2" + path + "vpce-missing", headers=auth())
    assert resp.status == 404
    sim.billing.org_plans[ORG] = "free"
    resp = await client.get(f"/api/v2/organizations/{ORG}/vpc/vpc_endpoints", headers=auth())
    assert resp.status == 403
    validate(await resp.json(), "/components/schemas/GeneralError")


async def test_branch_consumption_validates_pages_and_needs_a_usage_plan(
    aiohttp_client: AiohttpClient,
) -> None:
    sim = simulator()
    client = await aiohttp_client(sim.make_app())
    ids = ",".join(sim.project_ids())
    month = datetime.now(UTC).strftime("%Y-%m-01T00:00:00Z")
    query = (
        f"/api/v2/consumption_history/v2/branches?org_id={ORG}&project_ids={ids}"
        f"&granularity=monthly&from={month}&to=2099-01-01T00:00:00Z"
        "&metrics=compute_unit_seconds,root_branch_bytes_month&limit=3"
    )
    sim.add_branches(sim.project_ids()[0], 1)
    first = await get_json(client, query)
    validate(first, response_pointer("/consumption_history/v2/branches"))
    rest = await get_json(client, query + "&cursor=" + first["pagination"]["cursor"])
    validate(rest, response_pointer("/consumption_history/v2/branches"))
    assert len(first["branches"]) + len(rest["branches"]) == 5
    resp = await client.get(query.replace("root_branch", "extra_branches"), headers=auth())
    assert resp.status == 400
    sim.billing.org_plans[ORG] = "legacy"
    resp = await client.get(query, headers=auth())
    assert resp.status == 403
    validate(await resp.json(), "/components/schemas/GeneralError")
