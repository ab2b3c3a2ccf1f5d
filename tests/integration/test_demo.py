"""The built-in demo (``--demo``): bounded in memory, and a full first picture at once."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Config
from exporter.demo import demo_api
from tests.procs import exporter, wait_for

DEMO_LOG = 1000  # the demo simulator keeps this many recent requests
DEMO_PROJECTS = 24
DEMO_ENDPOINTS = 48
BURST = 10  # exporter.neon.budget.MAX_BURST


async def test_demo_request_log_is_a_bounded_ring() -> None:
    """Many requests to the demo's API: its log holds the latest 1,000, the count is all."""
    sent = DEMO_LOG + 200
    async with demo_api(Config()) as (config, sim), aiohttp.ClientSession() as session:
        token = config.keys[0].source.get()
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(sent - 1):
            async with session.get(f"{config.api_url}/auth", headers=headers) as resp:
                assert resp.status == 200
        async with session.get(f"{config.api_url}/projects", headers=headers) as resp:
            assert resp.status == 200
        assert len(sim.requests) == DEMO_LOG
        assert sim.requests[-1].route == "/projects"  # the newest is kept, the oldest went
        base = config.api_url.removesuffix("/api/v2")
        async with session.get(f"{base}/_sim/requests") as resp:
            stats = json.loads(await resp.text())
    assert stats["total"] == sent
    assert stats["recorded"] == DEMO_LOG


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
    used = {
        labels["project_id"] for labels, _ in _samples(text, "neon_project_active_time_seconds")
    }
    assert len(used) == DEMO_PROJECTS

    # Not a stopwatch: the requests the first poll made, against what the budget lets through.
    spent = sum(value for _, value in _samples(text, "neon_exporter_api_requests_total"))
    ((_, per_minute),) = _samples(text, "neon_exporter_api_budget_requests_per_minute")
    assert spent >= DEMO_PROJECTS * 2
    assert (spent - BURST) / (per_minute / 60) <= 1.0, (spent, per_minute)
