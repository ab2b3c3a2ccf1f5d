"""The simulated operations route against Neon's document (tests/data/neon-api-v2.official.yaml)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from exporter.simulator.model import utcnow
from tests.sim import Simulator
from tests.unit.test_simulator import KEYS, auth, declared, get_json, validate

Client = TestClient[web.Request, web.Application]
LIST_OPERATIONS = "/components/responses/ListOperations/content/application~1json/schema"


@pytest.fixture
async def sim_client(aiohttp_client: AiohttpClient) -> tuple[Simulator, Client]:
    sim = Simulator(keys=KEYS, projects=8, endpoints_per_project=1, seed=7)
    return sim, await aiohttp_client(sim.make_app())


async def test_operations_validate_against_the_document(
    sim_client: tuple[Simulator, Client],
) -> None:
    """Every project's operations match ``ListOperations``; newest first; the generated world
    has a failed and a running operation; ``limit`` and ``cursor`` page."""
    sim, client = sim_client
    pid = sim.project_ids()[0]
    sim.operations.add(pid, action="start_compute", status="error", created_at=utcnow())
    statuses: set[str] = set()
    for p in sim.project_ids():
        body = await get_json(client, f"/api/v2/projects/{p}/operations?limit=1000")
        validate(body, LIST_OPERATIONS)
        for op in body["operations"]:
            assert set(op) <= declared("Operation")
            statuses.add(op["status"])
        created = [op["created_at"] for op in body["operations"]]
        assert created == sorted(created, reverse=True)
    assert {"finished", "failed", "running", "error"} <= statuses

    first = await get_json(client, f"/api/v2/projects/{pid}/operations?limit=2")
    validate(first, LIST_OPERATIONS)
    cursor = first["pagination"]["cursor"]
    second = await get_json(client, f"/api/v2/projects/{pid}/operations?limit=2&cursor={cursor}")
    ids = [op["id"] for op in first["operations"] + second["operations"]]
    assert len(set(ids)) == 4


@pytest.mark.parametrize(("query", "status"), [("limit=0", 400), ("limit=1001", 400)])
async def test_operations_limit_follows_the_document(
    sim_client: tuple[Simulator, Client], query: str, status: int
) -> None:
    sim, client = sim_client
    resp = await client.get(
        f"/api/v2/projects/{sim.project_ids()[0]}/operations?{query}", headers=auth()
    )
    assert resp.status == status
    validate(await resp.json(), "/components/schemas/GeneralError")


async def test_operations_of_an_unknown_project_are_404(
    sim_client: tuple[Simulator, Client],
) -> None:
    _, client = sim_client
    resp = await client.get("/api/v2/projects/no-such-000000/operations", headers=auth())
    assert resp.status == 404
    validate(await resp.json(), "/components/schemas/GeneralError")


async def test_added_operation_is_listed_first(sim_client: tuple[Simulator, Client]) -> None:
    sim, client = sim_client
    pid = sim.project_ids()[2]
    now = utcnow()
    op_id = sim.operations.add(
        pid,
        action="suspend_compute",
        status="failed",
        created_at=now - timedelta(seconds=5),
        updated_at=now,
        error="boom",
    )
    body = await get_json(client, f"/api/v2/projects/{pid}/operations?limit=1")
    assert body["operations"][0]["id"] == op_id
    assert body["operations"][0]["error"] == "boom"
