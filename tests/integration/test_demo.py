"""The built-in demo (``--demo``): a read-only API, and a full first picture at once."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from exporter.config.load import Config
from exporter.web.demo import DEMO_KEY_NAME, demo_api
from tests.procs import exporter, wait_for

# The tests' simulator's control API (tests/sim/control.py); the demo's must have none of it.
CONTROL_ROUTES = (
    ("POST", "/_sim/keys/demo/revoke"),
    ("POST", "/_sim/faults"),
    ("DELETE", "/_sim/faults"),
    ("GET", "/_sim/requests"),
    ("POST", "/_sim/projects"),
    ("POST", "/_sim/unavailable"),
)
DEMO_PROJECTS = 24
DEMO_ENDPOINTS = 48
BURST = 10  # exporter.neon.budget.MAX_BURST


async def test_demo_api_has_no_control_routes_and_revokes_in_process() -> None:
    """The demo's API is read-only: no /_sim/ control routes (faults, request log, revoke over
    HTTP), so it keeps nothing per request; its key is revoked and restored in-process (the
    landing page's buttons do that through the exporter's own routes)."""
    async with demo_api(Config()) as (config, sim), aiohttp.ClientSession() as session:
        token = config.keys[0].source.get()
        headers = {"Authorization": f"Bearer {token}"}
        base = config.api_url.removesuffix("/api/v2")
        for method, path in CONTROL_ROUTES:
            async with session.request(method, f"{base}{path}", json={}) as resp:
                assert resp.status == 404, (method, path)
        async with session.get(f"{config.api_url}/projects", headers=headers) as resp:
            assert resp.status == 200  # the revoke over HTTP did nothing
        sim.revoke(DEMO_KEY_NAME)
        async with session.get(f"{config.api_url}/projects", headers=headers) as resp:
            assert resp.status == 401
        sim.restore(DEMO_KEY_NAME)
        async with session.get(f"{config.api_url}/projects", headers=headers) as resp:
            assert resp.status == 200


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


def test_demo_first_poll_brings_every_series(tmp_path: Path) -> None:
    """`--demo` as users start it: the first poll fetches every project's endpoints, branches
    and usage, and the demo's budget lets that poll's requests through within about a second
    (the real Neon's 300 a minute took 9.4 s, so a newcomer first saw "pending")."""
    with exporter(tmp_path, ["--demo"]) as exp:

        def polls() -> int:
            return sum(1 for e in exp.logs() if e.get("event") == "poll done")

        wait_for(lambda: polls() >= 1, timeout=60, what="the demo's first poll")
        text = exp.metrics()
        assert polls() == 1, "a second poll came before the scrape; the check proves nothing"

    unfetched = {
        labels["kind"]: value
        for labels, value in _samples(text, "neon_exporter_detail_unfetched_projects")
    }
    assert {"endpoints", "branches", "usage"} <= unfetched.keys()
    assert set(unfetched.values()) == {0}, unfetched  # every area on in the demo, all fetched
    # Operations and snapshots: a failure, a running operation, an overdue branch to show.
    for name in (
        "neon_operation_failed_timestamp_seconds",
        "neon_project_operation_oldest_running_timestamp_seconds",
        "neon_branch_backup_schedule_interval_seconds",
    ):
        assert _samples(text, name), name
    snapshotted = {
        labels["project_id"]
        for labels, _ in _samples(text, "neon_branch_snapshot_newest_timestamp_seconds")
    }
    assert len(snapshotted) == DEMO_PROJECTS
    assert len(_samples(text, "neon_endpoint_info")) == DEMO_ENDPOINTS
    branched = {labels["project_id"] for labels, _ in _samples(text, "neon_branch_info")}
    assert len(branched) == DEMO_PROJECTS
    # The demo's key is on a usage-based plan (usage from v2 consumption history), but for
    # one organization still on a legacy plan (the legacy route).
    metered = {
        labels["project_id"] for labels, _ in _samples(text, "neon_project_compute_unit_seconds")
    }
    legacy = {
        labels["project_id"] for labels, _ in _samples(text, "neon_project_active_time_seconds")
    }
    assert len(metered) == DEMO_PROJECTS - 6
    assert len(legacy) == 6
    assert not metered & legacy
    assert _samples(text, "neon_organization_spending_limit_dollars") == [
        ({"org_id": "org-demo-12345"}, 500.0)
    ]

    # Not a stopwatch: the requests the first poll made, against what the budget lets through.
    spent = sum(value for _, value in _samples(text, "neon_exporter_api_requests_total"))
    ((_, per_minute),) = _samples(text, "neon_exporter_api_budget_requests_per_minute")
    assert spent >= DEMO_PROJECTS * 2
    assert (spent - BURST) / (per_minute / 60) <= 1.0, (spent, per_minute)
