"""Tests for the simulated Neon management API (exporter.simulator, and tests.sim's additions)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from pytest_aiohttp import AiohttpClient
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from exporter.simulator import Simulator as PackageSimulator
from tests.sim import Fault, Simulator

REPO = Path(__file__).resolve().parents[2]
OPENAPI = REPO / "tests" / "data" / "neon-api-v2.official.yaml"
DOC_URI = "urn:neon-api-v2"

KEYS = {"alpha": "tok-alpha-secret", "beta": "tok-beta-secret"}
V1_FIELDS = {
    "id", "parent_id", "roles", "databases", "name", "created_at", "updated_at", "region_id",
    "instance_handle", "instance_type_id", "region_name", "platform_name", "platform_id",
    "settings", "pending_state", "current_state", "deleted", "size", "max_project_size",
    "pooler_enabled", "pg_version", "proxy_host",
}  # fmt: skip
ID_RE = re.compile(r"^[a-z]+-[a-z]+-\d{6}$")

Client = TestClient[web.Request, web.Application]


def auth(name: str = "alpha") -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


@cache
def openapi_doc() -> dict[str, Any]:
    # Neon's own document (see tests/data/README.md); the C loader reads its 430 kB in a blink.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = yaml.load(OPENAPI.read_text(), Loader=loader)  # noqa: S506
    # YAML reads unquoted response codes (200:) as integers; JSON pointers need strings.
    return _str_keys(doc)  # type: ignore[no-any-return]


def _str_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _str_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_str_keys(v) for v in node]
    return node


def validate(instance: Any, pointer: str) -> None:
    """Validate against the schema at JSON pointer ``pointer`` of the OpenAPI document."""
    doc = openapi_doc()
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT4)
    )
    validator = OAS30Validator(
        {"$ref": f"{DOC_URI}#{pointer}"}, registry=registry, format_checker=oas30_format_checker
    )
    validator.validate(instance)


def response_pointer(path: str) -> str:
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"/paths/{escaped}/get/responses/200/content/application~1json/schema"


def declared(schema_name: str) -> set[str]:
    props: dict[str, Any] = openapi_doc()["components"]["schemas"][schema_name]["properties"]
    return set(props)


async def get_json(client: Client, url: str, key: str = "alpha") -> Any:
    resp = await client.get(url, headers=auth(key))
    assert resp.status == 200, await resp.text()
    return await resp.json()


@pytest.fixture
async def sim_client(aiohttp_client: AiohttpClient) -> tuple[Simulator, Client]:
    sim = Simulator(keys=KEYS, projects=30, endpoints_per_project=2, seed=7)
    return sim, await aiohttp_client(sim.make_app())


async def test_v2_responses_validate_against_openapi(sim_client: tuple[Simulator, Client]) -> None:
    """Every v2 response (list page, project, endpoints, auth, error) matches Neon's OpenAPI."""
    sim, client = sim_client
    sim.add_project(project_id="org-owned-000001", org_id="org-morning-bread-81040908")
    first = sim.project_ids()[0]
    sim.set_endpoint(sim.endpoints_of(first)[0].id, state="active", pooler_enabled=True)
    sim.mark_unavailable([sim.project_ids()[1]])

    page = await get_json(client, "/api/v2/projects?limit=400")
    validate(page, response_pointer("/projects"))
    assert page["unavailable_project_ids"] == [sim.project_ids()[1]]
    assert page["applications"] == {}
    assert page["integrations"] == {}
    for item in page["projects"]:
        assert set(item) <= declared("ProjectListItem")
    by_id = {p["id"]: p for p in page["projects"]}
    assert by_id["org-owned-000001"]["org_id"] == "org-morning-bread-81040908"
    assert "compute_last_active_at" in by_id[first]

    for pid in sim.project_ids()[:5]:
        project = await get_json(client, f"/api/v2/projects/{pid}")
        validate(project, response_pointer("/projects/{project_id}"))
        assert set(project["project"]) <= declared("Project")
        endpoints = await get_json(client, f"/api/v2/projects/{pid}/endpoints")
        validate(endpoints, response_pointer("/projects/{project_id}/endpoints"))
        assert [e["type"] for e in endpoints["endpoints"]] == ["read_write", "read_only"]
        for ep in endpoints["endpoints"]:
            assert set(ep) <= declared("Endpoint")
            assert ep["id"].startswith("ep-")
            assert ID_RE.match(ep["id"][3:])
            assert ep["branch_id"].startswith("br-")
            assert ID_RE.match(ep["branch_id"][3:])
        assert ID_RE.match(pid)

    validate(await get_json(client, "/api/v2/auth"), response_pointer("/auth"))

    resp = await client.get("/api/v2/projects/no-such-project", headers=auth())
    assert resp.status == 404
    validate(await resp.json(), "/components/schemas/GeneralError")
    resp = await client.get("/api/v2/projects?limit=401", headers=auth())
    assert resp.status == 400
    validate(await resp.json(), "/components/schemas/GeneralError")


async def test_schema_validation_rejects_a_broken_item() -> None:
    """The schema check itself has teeth: a list item without required fields fails."""
    with pytest.raises(Exception, match="required"):
        validate({"projects": [{"id": "x"}]}, response_pointer("/projects"))


async def test_pagination_yields_each_project_once(aiohttp_client: AiohttpClient) -> None:
    """Paging 1,000 projects at limit 400 sees each once; last page has a cursor; then empty."""
    sim = Simulator(keys=KEYS, projects=1000, seed=3)
    client = await aiohttp_client(sim.make_app())
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        url = "/api/v2/projects?limit=400" + (f"&cursor={cursor}" if cursor else "")
        body = await get_json(client, url)
        if not body["projects"]:
            assert "pagination" not in body
            break
        pages += 1
        assert body["pagination"]["cursor"] == body["projects"][-1]["id"]
        seen.extend(p["id"] for p in body["projects"])
        cursor = body["pagination"]["cursor"]
    assert pages == 3
    assert len(seen) == 1000
    assert len(set(seen)) == 1000
    assert seen == sim.project_ids()
    default = await get_json(client, "/api/v2/projects")
    assert len(default["projects"]) == 10


async def test_revoked_key_gets_401_until_restored(sim_client: tuple[Simulator, Client]) -> None:
    """A revoked key gets 401 on every route, recovers after restore; other keys unaffected."""
    sim, client = sim_client
    pid = sim.project_ids()[0]
    routes = ["/api/v2/projects", f"/api/v2/projects/{pid}", "/api/v2/auth", "/api/v1/projects"]
    routes.append(f"/api/v2/projects/{pid}/endpoints")
    sim.revoke("alpha")
    for route in routes:
        resp = await client.get(route, headers=auth("alpha"))
        assert resp.status == 401
        body = await resp.text()
        assert json.loads(body) == {"code": "", "message": "authentication required"}
        assert KEYS["alpha"] not in body
        assert (await client.get(route, headers=auth("beta"))).status == 200
    assert (await client.get("/api/v2/projects")).status == 401
    bad = {"Authorization": "Bearer nope"}
    assert (await client.get("/api/v2/projects", headers=bad)).status == 401
    assert sim.count(key_name="alpha", status=401) == len(routes)
    sim.restore("alpha")
    assert (await client.get("/api/v2/projects", headers=auth("alpha"))).status == 200
    with pytest.raises(KeyError):
        sim.revoke("nobody")


async def test_fault_with_retry_after_hits_exactly_twice(
    sim_client: tuple[Simulator, Client],
) -> None:
    """A 429 fault with times=2 and Retry-After answers twice, then normal answers resume."""
    sim, client = sim_client
    sim.inject(Fault(status=429, route="/projects", times=2, retry_after="7"))
    statuses = []
    for _ in range(4):
        resp = await client.get("/api/v2/projects", headers=auth())
        statuses.append(resp.status)
        if resp.status == 429:
            assert resp.headers["Retry-After"] == "7"
            validate(await resp.json(), "/components/schemas/GeneralError")
    assert statuses == [429, 429, 200, 200]
    assert sim.count("/projects", status=429) == 2


async def test_fault_scoping_body_and_delay(sim_client: tuple[Simulator, Client]) -> None:
    """Faults respect route and key, serve raw bodies, and delay-only faults answer normally."""
    sim, client = sim_client
    sim.inject(Fault(status=503, route="/auth", key_name="beta", times=None))
    assert (await client.get("/api/v2/auth", headers=auth("alpha"))).status == 200
    assert (await client.get("/api/v2/projects", headers=auth("beta"))).status == 200
    for _ in range(3):
        assert (await client.get("/api/v2/auth", headers=auth("beta"))).status == 503
    sim.clear_faults()
    assert (await client.get("/api/v2/auth", headers=auth("beta"))).status == 200

    sim.inject(Fault(body=b"{not json", route="/projects"))
    resp = await client.get("/api/v2/projects", headers=auth())
    assert resp.status == 200
    assert await resp.read() == b"{not json"
    sim.inject(Fault(status=502, body=b"<html>bad gateway</html>", content_type="text/html"))
    resp = await client.get("/api/v1/projects", headers=auth())
    assert resp.status == 502
    assert resp.content_type == "text/html"

    sim.inject(Fault(delay=0.2))
    started = time.monotonic()
    resp = await client.get("/api/v2/auth", headers=auth())
    assert resp.status == 200
    assert time.monotonic() - started >= 0.2

    sim.revoke("alpha")
    sim.inject(Fault(status=500))
    assert (await client.get("/api/v2/auth", headers=auth())).status == 401  # auth comes first
    assert (await client.get("/api/v2/auth", headers=auth("beta"))).status == 500


async def test_unavailable_ids_are_omitted_and_listed(
    sim_client: tuple[Simulator, Client],
) -> None:
    """Projects marked unavailable leave the pages and appear in unavailable_project_ids."""
    sim, client = sim_client
    hidden = sim.project_ids()[2:5]
    sim.mark_unavailable(hidden)
    first = await get_json(client, "/api/v2/projects?limit=5")
    assert first["unavailable_project_ids"] == hidden
    ids = [p["id"] for p in first["projects"]]
    cursor = first["pagination"]["cursor"]
    second = await get_json(client, f"/api/v2/projects?limit=400&cursor={cursor}")
    assert "unavailable_project_ids" not in second
    ids += [p["id"] for p in second["projects"]]
    assert ids == [p for p in sim.project_ids() if p not in hidden]
    sim.mark_unavailable([])
    again = await get_json(client, "/api/v2/projects?limit=400")
    assert "unavailable_project_ids" not in again
    assert len(again["projects"]) == 30


async def test_visibility_and_org_filter(sim_client: tuple[Simulator, Client]) -> None:
    """visible_to limits who sees a project, and org_id filters the v2 list."""
    sim, client = sim_client
    private = sim.add_project(name="private", visible_to=["beta"], org_id="org-x-1")
    alpha_ids = [
        p["id"] for p in (await get_json(client, "/api/v2/projects?limit=400"))["projects"]
    ]
    assert private not in alpha_ids
    assert (await client.get(f"/api/v2/projects/{private}", headers=auth())).status == 404
    beta = await get_json(client, "/api/v2/projects?limit=400&org_id=org-x-1", key="beta")
    assert [p["id"] for p in beta["projects"]] == [private]
    sim.remove_project(private)
    assert private not in sim.project_ids()


async def test_v1_shape_matches_seed(sim_client: tuple[Simulator, Client]) -> None:
    """v1 /projects is a bare array with the seed's field set and derived state/pooler/size."""
    sim, client = sim_client
    pid = sim.project_ids()[0]
    eps = sim.endpoints_of(pid)
    for ep in eps:
        sim.set_endpoint(ep.id, state="idle", pooler_enabled=False)
    sim.set_project(pid, size_bytes=12345)
    body = await get_json(client, "/api/v1/projects")
    assert isinstance(body, list)
    assert len(body) == 30
    for item in body:
        assert set(item) == V1_FIELDS
        assert item["current_state"] in {"init", "active", "idle"}
        assert all(r["password"] == "" for r in item["roles"])
    first = body[0]
    assert (first["id"], first["size"], first["current_state"]) == (pid, 12345, "idle")
    assert first["pooler_enabled"] is False
    sim.set_endpoint(eps[1].id, state="init", pooler_enabled=True)
    first = (await get_json(client, "/api/v1/projects"))[0]
    assert (first["current_state"], first["pooler_enabled"]) == ("init", True)
    sim.set_endpoint(eps[0].id, state="active")
    assert (await get_json(client, "/api/v1/projects"))[0]["current_state"] == "active"
    assert sim.requests[-1].version == "v1"
    assert sim.requests[-1].route == "/projects"


async def test_endpoint_change_bumps_updated_at(sim_client: tuple[Simulator, Client]) -> None:
    """Changing an endpoint updates it and its project's updated_at and last_active."""
    sim, client = sim_client
    pid = sim.add_project(endpoints=1)
    ep = sim.endpoints_of(pid)[0]
    sim.world.projects[pid].updated_at = sim.world.projects[pid].created_at.replace(year=2020)
    before = (await get_json(client, f"/api/v2/projects/{pid}"))["project"]["updated_at"]
    endpoints = await get_json(client, f"/api/v2/projects/{pid}/endpoints")
    assert "last_active" not in endpoints["endpoints"][0]
    sim.set_endpoint(ep.id, state="active")
    after = (await get_json(client, f"/api/v2/projects/{pid}"))["project"]
    assert after["updated_at"] > before
    assert "compute_last_active_at" in after
    endpoints = await get_json(client, f"/api/v2/projects/{pid}/endpoints")
    assert endpoints["endpoints"][0]["current_state"] == "active"
    assert "last_active" in endpoints["endpoints"][0]


async def test_request_log_records_templates(sim_client: tuple[Simulator, Client]) -> None:
    """Requests are logged with route templates, key names and statuses."""
    sim, client = sim_client
    pid = sim.project_ids()[0]
    await get_json(client, f"/api/v2/projects/{pid}/endpoints", key="beta")
    await client.get("/api/v2/auth")
    assert sim.count("/projects/{project_id}/endpoints", "beta") == 1
    record = sim.requests[-1]
    assert (record.route, record.key_name, record.status, record.method) == (
        "/auth",
        None,
        401,
        "GET",
    )


async def test_generation_is_deterministic() -> None:
    """The same seed gives the same world; a 10,000-project world has every version and state."""
    a = Simulator(keys=KEYS, projects=50, endpoints_per_project=2, seed=11)
    b = Simulator(keys=KEYS, projects=50, endpoints_per_project=2, seed=11)
    assert a.project_ids() == b.project_ids()
    pid = a.project_ids()[0]
    assert [e.id for e in a.endpoints_of(pid)] == [e.id for e in b.endpoints_of(pid)]
    big = Simulator(keys=KEYS, projects=10_000, endpoints_per_project=1, seed=1)
    assert len(big.project_ids()) == 10_000
    versions = {p.pg_version for p in big.world.projects.values()}
    states = {e.state for e in big.world.endpoints.values()}
    assert versions == {14, 15, 16, 17}
    assert states == {"init", "active", "idle"}


async def test_churn_changes_endpoint_states(aiohttp_client: AiohttpClient) -> None:
    """With churn_seconds > 0 a background task flips endpoint states."""
    sim = Simulator(keys=KEYS, projects=20, seed=5, churn_seconds=0.01)
    before = {e.id: e.state for e in sim.world.endpoints.values()}
    await aiohttp_client(sim.make_app())
    deadline = time.monotonic() + 5
    while {e.id: e.state for e in sim.world.endpoints.values()} == before:
        assert time.monotonic() < deadline, "no endpoint changed state"
        await asyncio.sleep(0.02)


async def test_http_control_api(sim_client: tuple[Simulator, Client]) -> None:
    """The /_sim/ control API revokes/restores keys, injects faults, edits the world, counts."""
    sim, client = sim_client
    assert (await client.post("/_sim/keys/alpha/revoke")).status == 204
    assert (await client.get("/api/v2/auth", headers=auth())).status == 401
    assert (await client.post("/_sim/keys/alpha/restore")).status == 204
    assert (await client.get("/api/v2/auth", headers=auth())).status == 200
    assert (await client.post("/_sim/keys/ghost/revoke")).status == 404

    fault = {"status": 503, "route": "/auth", "times": 1, "retry_after": "3", "body": None}
    assert (await client.post("/_sim/faults", json=fault)).status == 204
    resp = await client.get("/api/v2/auth", headers=auth())
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "3"
    raw = {"status": None, "route": None, "times": None, "body": "<html>"}
    assert (await client.post("/_sim/faults", json=raw)).status == 204
    assert await (await client.get("/api/v2/auth", headers=auth())).text() == "<html>"
    assert (await client.delete("/_sim/faults")).status == 204
    assert (await client.get("/api/v2/auth", headers=auth())).status == 200

    resp = await client.post(
        "/_sim/projects", json={"project_id": "new-proj-000001", "endpoints": 2}
    )
    assert resp.status == 200
    assert await resp.json() == {"id": "new-proj-000001"}
    ep = sim.endpoints_of("new-proj-000001")[1]
    body = {"state": "active", "pooler_enabled": True}
    assert (await client.post(f"/_sim/endpoints/{ep.id}", json=body)).status == 204
    assert (ep.state, ep.pooler_enabled) == ("active", True)
    assert (await client.post("/_sim/endpoints/ep-none", json=body)).status == 404
    assert (await client.delete("/_sim/projects/new-proj-000001")).status == 204
    assert "new-proj-000001" not in sim.project_ids()

    stats = await (await client.get("/_sim/requests")).json()
    assert stats["total"] == len(sim.requests) == 5
    assert stats["by_route"] == {"/auth": 5}
    assert stats["by_status"] == {"200": 3, "401": 1, "503": 1}


async def test_request_log_is_a_bounded_ring(aiohttp_client: AiohttpClient) -> None:
    """Many requests: the log holds the latest ``request_log``, the count is all of them."""
    log = 1000
    sent = log + 200
    sim = Simulator(keys=KEYS, projects=3, request_log=log)
    client = await aiohttp_client(sim.make_app())
    for _ in range(sent - 1):
        assert (await client.get("/api/v2/auth", headers=auth())).status == 200
    assert (await client.get("/api/v2/projects", headers=auth())).status == 200
    assert len(sim.requests) == log
    assert sim.requests[-1].route == "/projects"  # the newest is kept, the oldest went
    stats = await (await client.get("/_sim/requests")).json()
    assert stats["total"] == sent
    assert stats["recorded"] == log


def test_package_simulator_serves_no_control_routes() -> None:
    """The shipped simulator (the demo's) serves the read-only API only: faults, the request
    log and the /_sim/ control API are the tests' additions."""
    paths = {
        r.resource.canonical
        for r in PackageSimulator(keys=KEYS).make_app().router.routes()
        if r.resource is not None
    }
    assert {"/api/v2/projects", "/api/v2/auth", "/api/v1/projects"} <= paths
    assert all(p.startswith(("/api/v2/", "/api/v1/")) for p in paths), paths
    tests_paths = {
        r.resource.canonical
        for r in Simulator(keys=KEYS).make_app().router.routes()
        if r.resource is not None
    }
    assert {p for p in tests_paths - paths if not p.startswith("/_sim/")} == set()
    assert "/_sim/faults" in tests_paths


def test_standalone_process_prints_listening_line_and_stops_on_sigterm() -> None:
    """`python -m tests.sim` prints one listening line, serves, and exits 0 on SIGTERM."""
    cmd = [sys.executable, "-m", "tests.sim", "--port", "0", "--projects", "5"]
    cmd += ["--key", "demo=tok-demo-secret", "--seed", "1", "--churn-seconds", "0"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        base = match.group(1)

        async def fetch() -> int:
            async with aiohttp.ClientSession() as session:
                headers = {"Authorization": "Bearer tok-demo-secret"}
                async with session.get(f"{base}/api/v2/projects", headers=headers) as resp:
                    body = await resp.json()
                    assert len(body["projects"]) == 5
                    return resp.status

        assert asyncio.run(fetch()) == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out == ""
        assert "tok-demo-secret" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_branches_and_consumption_validate_against_openapi(
    sim_client: tuple[Simulator, Client],
) -> None:
    """Branch pages and consumption history match Neon's document, errors included."""
    sim, client = sim_client
    pid = sim.project_ids()[0]
    sim.add_branches(pid, 4)
    page = await get_json(client, f"/api/v2/projects/{pid}/branches?limit=2")
    validate(page, response_pointer("/projects/{project_id}/branches"))
    for item in page["branches"]:
        assert set(item) <= declared("Branch")
    # The document: "If not provided, branches will be sorted by updated_at descending order".
    assert page["pagination"]["sort_by"] == "updated_at"
    assert page["pagination"]["sort_order"] == "desc"

    ids = ",".join(sim.project_ids()[:3])
    url = "/api/v2/consumption_history/projects?granularity=monthly&limit=100"
    now = time.strftime("%Y-%m-01T00:00:00Z", time.gmtime())
    body = await get_json(client, f"{url}&from={now}&to=2999-01-01T00:00:00Z&project_ids={ids}")
    validate(body, response_pointer("/consumption_history/projects"))
    assert [p["project_id"] for p in body["projects"]] == sim.project_ids()[:3]
    for item in body["projects"]:
        assert set(item) <= declared("ConsumptionHistoryPerProject")
        for period in item["periods"]:
            assert set(period) <= declared("ConsumptionHistoryPerPeriod")
            for frame in period["consumption"]:
                assert set(frame) <= declared("ConsumptionHistoryPerTimeframe")


@pytest.mark.parametrize(
    ("query", "status"),
    [
        # Hourly history reaches back 168 hours, daily 60 days, monthly a year; none before
        # March 2024: older ranges are a 406 in the document.
        ("granularity=hourly&from=2024-03-01T00:00:00Z&to=2999-01-01T00:00:00Z", 406),
        ("granularity=daily&from=2024-03-01T00:00:00Z&to=2999-01-01T00:00:00Z", 406),
        ("granularity=monthly&from=2020-01-01T00:00:00Z&to=2999-01-01T00:00:00Z", 406),
        ("granularity=monthly&from=NOW&to=2999-01-01T00:00:00Z&metrics=cpu_seconds", 400),
        ("granularity=monthly&from=NOW&to=2999-01-01T00:00:00Z&org_id=org-elsewhere-1", 404),
    ],
)
async def test_consumption_errors_follow_the_document(
    sim_client: tuple[Simulator, Client], query: str, status: int
) -> None:
    """Out-of-range dates (406), unknown metrics (400), a foreign org (404), as documented."""
    _, client = sim_client
    now = time.strftime("%Y-%m-01T00:00:00Z", time.gmtime())
    url = "/api/v2/consumption_history/projects?" + query.replace("NOW", now)
    resp = await client.get(url, headers=auth())
    assert resp.status == status, await resp.text()
    validate(await resp.json(), "/components/schemas/GeneralError")


async def test_branch_sort_by_and_order_are_honoured(sim_client: tuple[Simulator, Client]) -> None:
    """sort_by name/created_at/updated_at with either order; an unknown field is a 400."""
    sim, client = sim_client
    pid = sim.project_ids()[0]
    sim.add_branches(pid, 5)
    base = f"/api/v2/projects/{pid}/branches"
    by_name = await get_json(client, f"{base}?sort_by=name&sort_order=asc")
    names = [b["name"] for b in by_name["branches"]]
    assert names == sorted(names)
    assert by_name["annotations"] == {}
    created = await get_json(client, f"{base}?sort_by=created_at&sort_order=desc")
    stamps = [b["created_at"] for b in created["branches"]]
    assert stamps == sorted(stamps, reverse=True)
    resp = await client.get(f"{base}?sort_by=size", headers=auth())
    assert resp.status == 400


async def test_omitted_pooler_fields_are_the_only_departure_from_the_document(
    aiohttp_client: AiohttpClient,
) -> None:
    """Endpoints may answer without the deprecated pooler fields, as Neon will once they are
    gone; the document still lists them as required, and that is all it has against them."""
    sim = Simulator(keys=KEYS, projects=20, endpoints_per_project=2, seed=7, omit_pooler_fields=0.5)
    client = await aiohttp_client(sim.make_app())
    bare = [
        pid for pid in sim.project_ids() if not any(e.pooler_fields for e in sim.endpoints_of(pid))
    ]
    assert 0 < len(bare) < 20
    same_world = Simulator(keys=KEYS, projects=20, endpoints_per_project=2, seed=7)
    assert same_world.project_ids() == sim.project_ids()  # omitting shifts nothing else
    body = await get_json(client, f"/api/v2/projects/{bare[0]}/endpoints")
    pointer = response_pointer("/projects/{project_id}/endpoints")
    for ep in body["endpoints"]:
        assert "pooler_enabled" not in ep
        assert "pooler_mode" not in ep
    doc = openapi_doc()
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT4)
    )
    validator = OAS30Validator({"$ref": f"{DOC_URI}#{pointer}"}, registry=registry)
    errors = [e.message for e in validator.iter_errors(body)]
    assert sorted(errors) == sorted(
        f"'{field}' is a required property"
        for _ in body["endpoints"]
        for field in ("pooler_enabled", "pooler_mode")
    )
    pid = (await (await client.post("/_sim/projects", json={"pooler_fields": False})).json())["id"]
    assert not any(e.pooler_fields for e in sim.endpoints_of(pid))
    assert (await client.post("/_sim/projects", json={"pooler_fields": "no"})).status == 400


async def test_recoverable_and_shared_lists_validate_against_openapi(
    aiohttp_client: AiohttpClient,
) -> None:
    """GET /projects?recoverable=true lists deleted projects (with deleted_at and
    recoverable_until) that the live list never holds; GET /projects/shared lists projects of
    another account; quotas and maintenance windows ride on the live list items. All as the
    document describes them."""
    from exporter.simulator.lists import Extras

    sim = Simulator(keys=KEYS, projects=6, seed=7, extras=Extras.demo())
    client = await aiohttp_client(sim.make_app())
    gone = sim.project_ids()[-1]  # the first two have the maintenance windows
    sim.lists.delete(gone)

    live = await get_json(client, "/api/v2/projects?limit=400")
    validate(live, response_pointer("/projects"))
    live_ids = {p["id"] for p in live["projects"]}
    assert gone not in live_ids
    assert all("deleted_at" not in p for p in live["projects"])
    with_quota = [p for p in live["projects"] if "quota" in p["settings"]]
    assert len(with_quota) == len(live["projects"])  # the demo sets one on every project
    assert all("quota_reset_at" in p for p in with_quota)
    assert len([p for p in live["projects"] if "maintenance_starts_at" in p]) == 2
    assert all("history_retention_seconds" in p for p in live["projects"])

    deleted = await get_json(client, "/api/v2/projects?recoverable=true&limit=2")
    validate(deleted, response_pointer("/projects"))
    cursor = deleted["pagination"]["cursor"]
    rest = await get_json(client, f"/api/v2/projects?recoverable=true&limit=400&cursor={cursor}")
    items = deleted["projects"] + rest["projects"]
    assert len(items) == 4  # three of the demo's and the one deleted here
    assert gone in {p["id"] for p in items}
    assert not live_ids & {p["id"] for p in items}
    for item in items:
        assert set(item) <= declared("ProjectListItem")
        assert item["deleted_at"] < item["recoverable_until"]
    assert (await client.get(f"/api/v2/projects/{gone}", headers=auth())).status == 404

    shared = await get_json(client, "/api/v2/projects/shared?limit=400")
    validate(shared, response_pointer("/projects/shared"))
    assert len(shared["projects"]) == 2
    assert not live_ids & {p["id"] for p in shared["projects"]}
    for item in shared["projects"]:
        assert set(item) <= declared("ProjectListItem")
        assert item["owner_id"] != sim.account_id
    resp = await client.get("/api/v2/projects?recoverable=maybe", headers=auth())
    assert resp.status == 400
    validate(await resp.json(), "/components/schemas/GeneralError")
    assert sim.count("/projects?recoverable=true") == 2
    assert sim.count("/projects/shared") == 1


async def test_usage_based_routes_validate_against_openapi(aiohttp_client: AiohttpClient) -> None:
    """v2 consumption history, the user's organizations and a spending limit match Neon's
    document; v2 pages newest project first and follows its cursor."""
    sim = Simulator(keys=KEYS, projects=5, endpoints_per_project=0, org_id="org-a-1", plan="usage")
    sim.billing.v2_page_size = 2
    client = await aiohttp_client(sim.make_app())
    now = time.strftime("%Y-%m-01T00:00:00Z", time.gmtime())
    url = (
        "/api/v2/consumption_history/v2/projects?org_id=org-a-1&granularity=monthly&limit=100"
        f"&from={now}&to=2999-01-01T00:00:00Z"
        "&metrics=compute_unit_seconds,root_branch_bytes_month&metrics=extra_branches_month"
    )
    seen: list[str] = []
    cursor = ""
    for _ in range(4):
        body = await get_json(client, url + (f"&cursor={cursor}" if cursor else ""))
        validate(body, response_pointer("/consumption_history/v2/projects"))
        if not body["projects"]:
            break
        for item in body["projects"]:
            assert set(item) <= declared("ConsumptionHistoryPerProjectV2")
            (period,) = item["periods"]
            assert set(period) <= declared("ConsumptionHistoryPerPeriodV2")
            (frame,) = period["consumption"]
            names = [m["metric_name"] for m in frame["metrics"]]
            assert names == [
                "compute_unit_seconds",
                "root_branch_bytes_month",
                "extra_branches_month",
            ]
            seen.append(item["project_id"])
        cursor = body["pagination"]["cursor"]
    assert sorted(seen) == sorted(sim.project_ids())
    created = [sim.world.projects[pid].created_at for pid in seen]
    assert created == sorted(created, reverse=True)  # newest first, as documented

    orgs = await get_json(client, "/api/v2/users/me/organizations")
    validate(orgs, response_pointer("/users/me/organizations"))
    assert [o["id"] for o in orgs["organizations"]] == ["org-a-1"]
    limit = await get_json(client, "/api/v2/organizations/org-a-1/billing/spending_limit")
    validate(limit, response_pointer("/organizations/{org_id}/billing/spending_limit"))
    sim.billing.spending_limits["org-a-1"] = None
    limit = await get_json(client, "/api/v2/organizations/org-a-1/billing/spending_limit")
    validate(limit, response_pointer("/organizations/{org_id}/billing/spending_limit"))
    assert limit == {"spending_limit_cents": None}


@pytest.mark.parametrize(
    ("plan", "query", "status"),
    [
        ("legacy", "org_id=org-a-1&from=NOW", 403),  # not a usage-based plan
        ("free", "org_id=org-a-1&from=NOW", 403),
        ("usage", "org_id=org-elsewhere-1&from=NOW", 404),  # not a member
        ("usage", "org_id=org-a-1&from=2020-01-01T00:00:00Z", 406),  # past a year
        ("usage", "from=NOW", 400),  # org_id is required
        ("usage", "org_id=org-a-1&from=NOW&metrics=active_time_seconds", 400),
    ],
)
async def test_v2_consumption_errors_follow_the_document(
    aiohttp_client: AiohttpClient, plan: str, query: str, status: int
) -> None:
    sim = Simulator(keys=KEYS, projects=2, endpoints_per_project=0, org_id="org-a-1", plan=plan)
    client = await aiohttp_client(sim.make_app())
    now = time.strftime("%Y-%m-01T00:00:00Z", time.gmtime())
    metrics = "" if "metrics=" in query else "&metrics=compute_unit_seconds"
    url = (
        "/api/v2/consumption_history/v2/projects?granularity=monthly&to=2999-01-01T00:00:00Z&"
        + query.replace("NOW", now)
        + metrics
    )
    resp = await client.get(url, headers=auth())
    assert resp.status == status, await resp.text()
    validate(await resp.json(), "/components/schemas/GeneralError")
    legacy = await client.get(
        f"/api/v2/consumption_history/projects?granularity=monthly&from={now}"
        "&to=2999-01-01T00:00:00Z",
        headers=auth(),
    )
    assert legacy.status == (200 if plan == "legacy" else 403)


async def test_api_key_routes_validate_against_openapi(aiohttp_client: AiohttpClient) -> None:
    """/auth, /users/me/organizations, the personal and organization key lists, creating and
    revoking a key: each answer as the document describes it, for a personal key and for an
    organization key; a key's last use moves when it is used."""
    org = "org-blue-123"
    sim = Simulator(keys=KEYS, projects=2, seed=7, org_id=org, org_keys={"beta": org})
    sim.key_book.seed_inventory()
    client = await aiohttp_client(sim.make_app())
    me = await get_json(client, "/api/v2/auth")
    validate(me, response_pointer("/auth"))
    assert me["auth_method"] == "api_key_user"
    org_me = await get_json(client, "/api/v2/auth", key="beta")
    validate(org_me, response_pointer("/auth"))
    assert (org_me["auth_method"], org_me["account_id"]) == ("api_key_org", org)
    for key in ("alpha", "beta"):
        orgs = await get_json(client, "/api/v2/users/me/organizations", key=key)
        validate(orgs, response_pointer("/users/me/organizations"))
        assert [o["id"] for o in orgs["organizations"]] == [org]
        org_keys = await get_json(client, f"/api/v2/organizations/{org}/api_keys", key=key)
        validate(org_keys, response_pointer("/organizations/{org_id}/api_keys"))
        assert {k["name"] for k in org_keys} == {"beta", "terraform"}
    personal = await get_json(client, "/api/v2/api_keys")
    validate(personal, response_pointer("/api_keys"))
    assert {k["name"] for k in personal} == {"alpha", "ci-deploy", "old-laptop"}
    (alpha,) = (k for k in personal if k["name"] == "alpha")
    assert alpha["last_used_at"] is not None  # this very request used it
    resp = await client.get("/api/v2/api_keys", headers=auth("beta"))
    assert resp.status == 403
    validate(await resp.json(), "/components/schemas/GeneralError")

    post = "/paths/~1api_keys/post/responses/200/content/application~1json/schema"
    resp = await client.post("/api/v2/api_keys", json={"key_name": "next"}, headers=auth())
    created = await resp.json()
    validate(created, post)
    delete = "/paths/~1api_keys~1{key_id}/delete/responses/200/content/application~1json/schema"
    headers = {"Authorization": f"Bearer {created['key']}"}
    resp = await client.delete(f"/api/v2/api_keys/{alpha['id']}", headers=headers)
    validate(await resp.json(), delete)
    resp = await client.get("/api/v2/api_keys", headers=auth())
    assert resp.status == 401
