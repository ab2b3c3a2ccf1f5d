"""The simulated branch lifecycle, integrations and advisors against Neon's document."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from exporter.simulator.lists import Extras
from tests.sim import Simulator
from tests.unit.test_simulator import KEYS, auth, declared, get_json, response_pointer, validate

Client = TestClient[web.Request, web.Application]
BRANCHES = "/projects/{project_id}/branches"
ADVISORS = "/projects/{project_id}/advisors"
ERROR = "/components/schemas/GeneralError"


@pytest.fixture
async def sim_client(aiohttp_client: AiohttpClient) -> tuple[Simulator, Client]:
    sim = Simulator(keys=KEYS, projects=4, seed=7, extras=Extras(features=True))
    return sim, await aiohttp_client(sim.make_app())


async def test_branch_lists_with_expiry_and_recovery_validate(
    sim_client: tuple[Simulator, Client],
) -> None:
    """Expiring branches carry expires_at and ttl_interval_seconds; deleted ones (their
    ``recovery``: user or ttl) are listed only with include_deleted=true."""
    sim, client = sim_client
    pid = sim.project_ids()[0]
    url = f"/api/v2/projects/{pid}/branches"
    live = await get_json(client, url)
    everything = await get_json(client, url + "?include_deleted=true")
    for body in (live, everything):
        validate(body, response_pointer(BRANCHES))
        for b in body["branches"]:
            assert set(b) <= declared("Branch")
    expiring = [b for b in live["branches"] if "expires_at" in b]
    assert len(expiring) == 2
    assert all(b["ttl_interval_seconds"] > 0 for b in expiring)
    assert any(b["default"] for b in expiring)  # the demo's accident
    assert not any("recovery" in b for b in live["branches"])
    deleted = [b["recovery"] for b in everything["branches"] if "recovery" in b]
    assert sorted(r["deletion_method"] for r in deleted) == ["ttl", "user"]
    for r in deleted:
        validate(r, "/components/schemas/BranchRecoveryInfo")
        assert r["deleted_at"] < r["recoverable_until"]
    assert len(everything["branches"]) == len(live["branches"]) + 2


async def test_branch_list_refusals(sim_client: tuple[Simulator, Client]) -> None:
    """A bad include_deleted is a 400; without branch recovery, include_deleted=true is a 403
    and the plain list still answers."""
    sim, client = sim_client
    url = f"/api/v2/projects/{sim.project_ids()[0]}/branches"
    resp = await client.get(url + "?include_deleted=maybe", headers=auth())
    assert resp.status == 400
    validate(await resp.json(), ERROR)
    sim.world.branch_recovery = False
    resp = await client.get(url + "?include_deleted=true", headers=auth())
    assert resp.status == 403
    validate(await resp.json(), ERROR)
    validate(await get_json(client, url), response_pointer(BRANCHES))


async def test_project_list_integrations_validate(sim_client: tuple[Simulator, Client]) -> None:
    sim, client = sim_client
    page = await get_json(client, "/api/v2/projects?limit=400")
    validate(page, response_pointer("/projects"))
    first, second = sim.project_ids()[:2]
    assert page["integrations"] == page["applications"]
    assert page["integrations"][first] == ["github", "vercel"]
    assert page["integrations"][second] == ["opentelemetry"]


async def test_advisors_validate_and_filter(sim_client: tuple[Simulator, Client]) -> None:
    """Issues match ``AdvisorIssue``; category and min_severity filter them."""
    sim, client = sim_client
    pid = sim.project_ids()[0]
    url = f"/api/v2/projects/{pid}/advisors"
    body = await get_json(client, url)
    validate(body, response_pointer(ADVISORS))
    for item in body["issues"]:
        assert set(item) <= declared("AdvisorIssue")
    errors = await get_json(client, url + "?min_severity=ERROR")
    assert [i["level"] for i in errors["issues"]] == ["ERROR", "ERROR"]
    security = await get_json(client, url + "?category=SECURITY")
    assert all("SECURITY" in i["categories"] for i in security["issues"])
    assert len(security["issues"]) == 3  # two errors and a warning


@pytest.mark.parametrize(
    ("case", "status"),
    [("no data api", 404), ("no such project", 404), ("plan", 403), ("bad category", 400)],
)
async def test_advisors_refusals(
    sim_client: tuple[Simulator, Client], case: str, status: int
) -> None:
    sim, client = sim_client
    pid = sim.project_ids()[1] if case == "no data api" else sim.project_ids()[0]
    query = "?category=NEITHER" if case == "bad category" else ""
    if case == "no such project":
        pid = "no-such-000000"
    sim.world.advisors_plan = case != "plan"
    resp = await client.get(f"/api/v2/projects/{pid}/advisors{query}", headers=auth())
    assert resp.status == status
    validate(await resp.json(), ERROR)
