"""The simulated snapshot and backup schedule routes against Neon's document."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from exporter.simulator.model import utcnow
from tests.sim import Simulator
from tests.unit.test_simulator import KEYS, auth, declared, get_json, response_pointer, validate

Client = TestClient[web.Request, web.Application]
SCHEDULE = "/components/responses/SnapshotSchedule/content/application~1json/schema"


@pytest.fixture
async def sim_client(aiohttp_client: AiohttpClient) -> tuple[Simulator, Client]:
    sim = Simulator(keys=KEYS, projects=6, endpoints_per_project=1, seed=7)
    return sim, await aiohttp_client(sim.make_app())


def default_branch(sim: Simulator, pid: str) -> str:
    return next(b.id for b in sim.world.projects[pid].branches if b.default)


async def test_snapshots_and_schedules_validate_against_the_document(
    sim_client: tuple[Simulator, Client],
) -> None:
    """Snapshots and schedules match ``Snapshot`` and ``BackupSchedule``; the generated world
    has daily and hourly schedules, projects without one (a manual snapshot), a stopped one."""
    sim, client = sim_client
    pid = sim.project_ids()[2]
    sim.snapshots.add_snapshot(pid, None, utcnow(), full_size=7)
    frequencies: list[str] = []
    counts = []
    for p in sim.project_ids():
        body = await get_json(client, f"/api/v2/projects/{p}/snapshots")
        validate(body, response_pointer("/projects/{project_id}/snapshots"))
        counts.append(len(body["snapshots"]))
        for s in body["snapshots"]:
            assert set(s) <= declared("Snapshot")
        created = [s["created_at"] for s in body["snapshots"]]
        assert created == sorted(created, reverse=True)
        branch = default_branch(sim, p)
        schedule = await get_json(client, f"/api/v2/projects/{p}/branches/{branch}/backup_schedule")
        validate(schedule, SCHEDULE)
        frequencies += [item["frequency"] for item in schedule["schedule"]]
    assert sorted(set(frequencies)) == ["daily", "hourly"]
    assert counts[0] == 7  # daily, kept a week
    assert counts[1] == 24  # hourly, kept a day
    assert counts[2] == 2  # no schedule: a generated manual one and the test's
    stopped = await get_json(client, f"/api/v2/projects/{sim.project_ids()[3]}/snapshots")
    newest = stopped["snapshots"][0]["created_at"]
    assert newest <= (utcnow() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("branch", ["br-no-such-000000", "DEFAULT"])
async def test_schedule_404_for_an_unknown_branch_or_project(
    sim_client: tuple[Simulator, Client], branch: str
) -> None:
    sim, client = sim_client
    pid = sim.project_ids()[0]
    if branch == "DEFAULT":
        pid, branch = "no-such-000000", default_branch(sim, pid)
    resp = await client.get(
        f"/api/v2/projects/{pid}/branches/{branch}/backup_schedule", headers=auth()
    )
    assert resp.status == 404
    validate(await resp.json(), "/components/schemas/GeneralError")
    resp = await client.get("/api/v2/projects/no-such-000000/snapshots", headers=auth())
    assert resp.status == 404
