"""Polling over real sockets against the simulator: what users rely on when Neon misbehaves."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from exporter.neon.client import PAGE_LIMIT
from exporter.service import Service
from tests.sim import Fault, Simulator
from tests.support import (
    KEYS,
    VirtualTime,
    assert_within_budget,
    families,
    key_files,
    make_config,
    on_virtual_time,
    quick_retries,
    value,
)

Build = Callable[..., Service]


def project_ids(svc: Service) -> set[str]:
    return set(svc.state.view().projects)


async def poll(svc: Service, key: str = "prod") -> bool:
    async with svc.pollers() as poller:
        return await poller.poll(key)


async def check(svc: Service, key: str = "prod") -> None:
    async with svc.pollers() as poller:
        await poller.check_key(key)


async def serve(sim: Simulator) -> TestServer:
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    return server


async def test_pagination_over_1001_projects_yields_each_once(service_for: Build) -> None:
    """1,001 projects at 400 a page: three list requests, every project exactly once."""
    sim = Simulator(keys=KEYS, projects=1001, endpoints_per_project=1, seed=11)
    server = await serve(sim)
    try:
        # Paging is the subject: without per-project detail the poll is the three list pages.
        no_detail = {"endpoints": False, "branches": False, "usage": False}
        svc = service_for(str(server.make_url("/api/v2")), collectors=no_detail)
        assert await poll(svc)
    finally:
        await server.close()
    assert project_ids(svc) == set(sim.project_ids())
    assert len(project_ids(svc)) == 1001
    assert sim.count("/projects") == 3
    assert len(sim.requests) == 3
    assert value(svc, "neon_projects", key="prod") == 1001
    assert (
        value(svc, "neon_exporter_api_requests_total", key="prod", route="/projects", code="200")
        == 3
    )


async def test_exact_multiple_of_page_size_ends_on_empty_page(service_for: Build) -> None:
    """800 projects: the cursor of the full last page leads to an empty page that ends it."""
    sim = Simulator(keys=KEYS, projects=2 * PAGE_LIMIT, endpoints_per_project=0, seed=2)
    server = await serve(sim)
    try:
        svc = service_for(str(server.make_url("/api/v2")))
        assert await poll(svc)
    finally:
        await server.close()
    assert len(project_ids(svc)) == 800
    assert sim.count("/projects") == 3


async def test_state_and_pooler_derive_from_endpoints(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """v2 project state is active if any endpoint is, else init, else idle; pooler is any."""
    pid = sim.add_project(project_id="derive-me-000001", endpoints=2, pg_version=17)
    first, second = (e.id for e in sim.endpoints_of(pid))
    sim.set_endpoint(first, state="idle", pooler_enabled=False)
    sim.set_endpoint(second, state="init", pooler_enabled=True)
    svc = service_for(sim_url)
    assert await poll(svc)
    assert value(svc, "neon_project_state", project_id=pid, state="init") == 1
    assert value(svc, "neon_project_state", project_id=pid, state="active") == 0
    assert value(svc, "neon_project_pooler_enabled", project_id=pid) == 1
    assert value(svc, "neon_project_pg_version", project_id=pid) == 17
    assert value(svc, "neon_endpoint_state", project_id=pid, endpoint_id=second, state="init") == 1
    sim.set_endpoint(first, state="active")
    sim.set_endpoint(second, pooler_enabled=False)
    assert await poll(svc)
    assert value(svc, "neon_project_state", project_id=pid, state="active") == 1
    assert value(svc, "neon_project_state", project_id=pid, state="init") == 0
    assert value(svc, "neon_project_pooler_enabled", project_id=pid) == 0


async def test_v1_api_maps_to_the_same_metrics(sim: Simulator, service_for: Build) -> None:
    """A URL ending in /api/v1 reads the bare project array: state and pooler from the project."""
    server = await serve(sim)
    try:
        svc = service_for(str(server.make_url("/api/v1")))
        assert await poll(svc)
        await check(svc)
    finally:
        await server.close()
    assert project_ids(svc) == set(sim.project_ids())
    assert sim.count("/projects/{project_id}/endpoints") == 0
    pid = sim.project_ids()[0]
    states = [
        value(svc, "neon_project_state", project_id=pid, state=s)
        for s in ("init", "active", "idle")
    ]
    assert sorted(v or 0.0 for v in states) == [0, 0, 1]
    assert None not in states
    assert value(svc, "neon_api_key_valid", key="prod") == 1


async def test_401_trips_only_that_key_and_recovery_restores_it(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """A revoked key goes to 0 at once (poll or key check); the other key stays 1."""
    svc = service_for(sim_url, ("prod", "staging"))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        assert await poller.poll("staging")
        sim.revoke("prod")
        await poller.check_key("prod")
        await poller.check_key("staging")
        assert value(svc, "neon_api_key_valid", key="prod") == 0
        assert value(svc, "neon_api_key_valid", key="staging") == 1
        assert value(svc, "neon_api_key_last_rejected_timestamp_seconds", key="prod")
        assert not await poller.poll("prod")
        assert value(svc, "neon_exporter_poll_success", key="prod") == 0
        # The 401 keeps the key's last data like any other failure.
        assert value(svc, "neon_projects", key="prod") == 5
        sim.restore("prod")
        assert await poller.poll("prod")
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1


async def test_401_transition_is_logged_once_with_key_name(
    sim: Simulator, sim_url: str, service_for: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several 401s in a row log the rejection once, with the key's name and not the key."""
    from exporter.config.logs import setup_logging

    setup_logging("info", "json")
    svc = service_for(sim_url)
    sim.revoke("prod")
    async with svc.pollers() as poller:
        for _ in range(3):
            await poller.check_key("prod")
        await poller.poll("prod")
    err = capsys.readouterr().err
    assert err.count("api key rejected") == 1
    assert '"key": "prod"' in err
    assert KEYS["prod"] not in err


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=403, times=None),
        Fault(status=429, times=None, retry_after="0"),
        Fault(status=500, times=None),
        Fault(status=503, times=None),
        Fault(status=404, route="/projects", times=None),
        Fault(body=b'{"projects": [', times=None),
        Fault(body=b"<html>502 Bad Gateway</html>", content_type="text/html", times=None),
        Fault(delay=3.0, times=None),
    ],
    ids=["403", "429", "500", "503", "404", "truncated-json", "html", "timeout"],
)
async def test_failures_never_trip_the_key_and_keep_last_data(
    sim: Simulator, sim_url: str, service_for: Build, fault: Fault
) -> None:
    """Non-401 failures fail the poll, keep the last good data and leave the key valid."""
    svc = service_for(sim_url, request_timeout=1.0)
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        before = project_ids(svc)
        sim.inject(fault)
        assert not await poller.poll("prod")
        await poller.check_key("prod")
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    assert value(svc, "neon_exporter_poll_success", key="prod") == 0
    assert project_ids(svc) == before
    assert value(svc, "neon_projects", key="prod") == 5


async def test_retry_after_is_honoured(sim: Simulator, sim_url: str, service_for: Build) -> None:
    """A 429 with Retry-After: 1 is retried, no sooner than one second later, and succeeds."""
    svc = service_for(sim_url)
    sim.inject(Fault(status=429, route="/projects", retry_after="1", times=1))
    assert await poll(svc)
    times = [r.time for r in sim.requests if r.route == "/projects"]
    assert len(times) == 2
    assert times[1] - times[0] >= 1.0
    assert (
        value(svc, "neon_exporter_api_requests_total", key="prod", route="/projects", code="429")
        == 1
    )


async def test_503_and_423_are_retried(sim: Simulator, sim_url: str, service_for: Build) -> None:
    """Transient 503 and 423 answers are retried with backoff and the poll succeeds."""
    svc = service_for(sim_url)
    sim.inject(Fault(status=503, route="/projects", times=2))
    sim.inject(Fault(status=423, route="/projects/{project_id}/endpoints", times=1))
    assert await poll(svc)
    assert sim.count("/projects", status=503) == 2
    assert sim.count(status=423) == 1


async def test_data_dropped_after_max_age(
    sim: Simulator, sim_url: str, service_for: Build, tmp_path: Path
) -> None:
    """A failing key's last data is served until poll.max-age, then dropped."""
    now = [1_000_000.0]
    svc = Service(
        make_config(sim_url, key_files(tmp_path), poll_max_age=600.0), clock=lambda: now[0]
    )
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        sim.inject(Fault(status=500, times=None))
        now[0] += 300
        assert not await poller.poll("prod")
        assert len(project_ids(svc)) == 5
        now[0] += 301
        assert not await poller.poll("prod")
    assert project_ids(svc) == set()
    assert value(svc, "neon_projects", key="prod") is None
    assert value(svc, "neon_exporter_poll_last_success_timestamp_seconds", key="prod") == 1_000_000


async def test_removed_project_vanishes_after_next_poll(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """A project deleted upstream disappears from the metrics at the next successful poll."""
    svc = service_for(sim_url)
    assert await poll(svc)
    gone = sim.project_ids()[0]
    assert value(svc, "neon_project_pg_version", project_id=gone) is not None
    sim.remove_project(gone)
    assert await poll(svc)
    assert gone not in project_ids(svc)
    assert value(svc, "neon_project_pg_version", project_id=gone) is None
    assert value(svc, "neon_endpoint_info", project_id=gone) is None


async def test_partial_page_keeps_unavailable_projects(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """Projects in unavailable_project_ids keep their last data; the poll still succeeds."""
    svc = service_for(sim_url)
    assert await poll(svc)
    before = project_ids(svc)
    hidden = sim.project_ids()[:2]
    sim.mark_unavailable(hidden)
    assert await poll(svc)
    assert project_ids(svc) == before
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    assert len(svc.state.view().of("endpoints")[hidden[0]]) == 2


async def test_two_keys_independent_and_shared_projects_emitted_once(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """Two keys seeing one project emit it once; one key failing leaves the other's data."""
    only_staging = sim.add_project(project_id="staging-only-000001", visible_to=["staging"])
    svc = service_for(sim_url, ("prod", "staging"))
    async with svc.pollers() as poller:
        assert await poller.poll_all()
        assert value(svc, "neon_projects", key="prod") == 5
        assert value(svc, "neon_projects", key="staging") == 6
        shared = sim.project_ids()[0]
        samples = [
            s
            for m in families(svc)
            if m.name == "neon_project_pg_version"
            for s in m.samples
            if s.labels["project_id"] == shared
        ]
        assert len(samples) == 1
        sim.inject(Fault(status=500, key_name="staging", times=None))
        assert await poller.poll("prod")
        assert not await poller.poll("staging")
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    assert value(svc, "neon_exporter_poll_success", key="staging") == 0
    assert only_staging in project_ids(svc)


async def test_key_file_rotation_is_picked_up(
    sim: Simulator, sim_url: str, service_for: Build, tmp_path: Path
) -> None:
    """Replacing the key file (as a Kubernetes secret update does) switches keys, no restart."""
    svc = service_for(sim_url)
    key_file = tmp_path / "prod.key"
    async with svc.pollers() as poller:
        await poller.check_key("prod")
        assert value(svc, "neon_api_key_valid", key="prod") == 1
        # An invalid key is written to a new file and swapped in atomically.
        new = tmp_path / "new.key"
        new.write_text("not-a-valid-key-" + "x" * 30)
        os.replace(new, key_file)
        await poller.check_key("prod")
        assert value(svc, "neon_api_key_valid", key="prod") == 0
        new.write_text(KEYS["prod"])
        os.replace(new, key_file)
        await poller.check_key("prod")
    assert value(svc, "neon_api_key_valid", key="prod") == 1


async def test_budget_is_never_exceeded(sim: Simulator, sim_url: str, service_for: Build) -> None:
    """At 120 requests/min (2/s, burst 2) no window sees more than its share plus the burst."""
    for _ in range(10):
        sim.add_project(endpoints=1)
    svc = service_for(sim_url, max_requests_per_minute=120.0)
    async with svc.pollers() as poller:
        # Virtual time: 16 requests at 2 a second are 7 s of budget, spent at once here.
        buckets = on_virtual_time(poller, VirtualTime())
        assert await poller.poll("prod")
    assert len(sim.requests) == 16
    assert len(buckets["prod"].taken) == 16  # each request the simulator saw took a token
    assert_within_budget(buckets["prod"].taken, per_second=2.0, burst=2)


async def test_poll_is_cancelled_cleanly(sim: Simulator, sim_url: str, service_for: Build) -> None:
    """Cancelling a poll in flight (shutdown) raises CancelledError and leaks nothing."""
    sim.inject(Fault(delay=5.0, times=None))
    svc = service_for(sim_url)
    async with svc.pollers() as poller:
        task = asyncio.ensure_future(poller.poll("prod"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
