"""The budgeted refresh: a poll spends only what the key's budget allows before the next is due,
covers every project over successive polls, and spends the budget on new and changed projects
first.

Time is the subject here, so the slices and the budget run on virtual time (see
:class:`tests.support.VirtualTime`): requests still go over real sockets to the simulator, but a
poll's slice of 1.5 s is spent the moment the budget says so, and the counts are exact."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestServer

from exporter.areas import DETAIL_AREAS
from exporter.poll.plan import list_interval
from exporter.poll.poller import poll_v2
from exporter.poll.state import PollResult
from exporter.service import Service
from exporter.simulator.model import utcnow
from tests.procs import sample
from tests.sim import Simulator
from tests.support import (
    KEYS,
    VirtualTime,
    assert_within_budget,
    key_files,
    make_config,
    on_virtual_time,
    value,
)

Build = Callable[..., Service]
ENDPOINTS = "/projects/{project_id}/endpoints"
RATE = 10.0  # 600 requests a minute: 10 a second, burst 10
SLICE = 1.5  # seconds of detail refresh per poll: about 14 projects back to back
OLDEST = "neon_exporter_detail_oldest_timestamp_seconds"


async def start(projects: int) -> tuple[Simulator, TestServer, str]:
    sim = Simulator(keys=KEYS, projects=projects, endpoints_per_project=1, seed=9)
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    return sim, server, str(server.make_url("/api/v2"))


async def test_rotation_covers_every_project_within_the_budget(service_for: Build) -> None:
    """60 projects, ~14 a poll: each poll succeeds and in six polls every project is fetched."""
    sim, server, url = await start(60)
    try:
        svc = service_for(url, max_requests_per_minute=RATE * 60)
        unfetched: list[float] = []
        async with svc.pollers(slice_seconds=SLICE) as poller:
            on_virtual_time(poller, VirtualTime())
            for _ in range(6):
                assert await poller.poll("prod")
                left = value(
                    svc, "neon_exporter_detail_unfetched_projects", key="prod", kind="endpoints"
                )
                assert left is not None
                unfetched.append(left)
                duration = value(svc, "neon_exporter_poll_duration_seconds", key="prod")
                assert duration is not None
                assert duration < SLICE + 1.5
    finally:
        await server.close()
    assert 0 < unfetched[0] < 60  # the first poll is partial
    assert unfetched == sorted(unfetched, reverse=True)
    assert unfetched[-1] == 0
    assert set(svc.state.view().of("endpoints")) == set(sim.project_ids())
    assert sim.count("/projects") == 6
    assert value(svc, "neon_exporter_api_budget_requests_per_minute", key="prod") == RATE * 60
    assert value(svc, "neon_exporter_detail_oldest_timestamp_seconds", key="prod", kind="endpoints")


async def test_budget_is_never_exceeded_in_any_window_across_polls(service_for: Build) -> None:
    """Over back-to-back rotating polls no window sees more than its share of the budget + burst."""
    sim, server, url = await start(150)
    try:
        svc = service_for(url, max_requests_per_minute=RATE * 60)
        async with svc.pollers(slice_seconds=SLICE) as poller:
            buckets = on_virtual_time(poller, VirtualTime())
            for _ in range(4):
                assert await poller.poll("prod")
    finally:
        await server.close()
    assert len(sim.requests) > 40
    # Every request the simulator saw took a token, at the virtual time it was sent.
    assert len(buckets["prod"].taken) == len(sim.requests)
    assert_within_budget(buckets["prod"].taken, per_second=RATE, burst=10)


async def test_changed_and_new_projects_are_refreshed_first(service_for: Build) -> None:
    """A project whose list entry changed, and a new project, are fetched in the next poll even
    when that poll refreshes only a fraction of the projects."""
    sim, server, url = await start(60)
    try:
        svc = service_for(url, max_requests_per_minute=RATE * 60)
        async with svc.pollers(slice_seconds=SLICE) as poller:
            on_virtual_time(poller, VirtualTime())
            for _ in range(6):
                assert await poller.poll("prod")
            assert (
                value(svc, "neon_exporter_detail_unfetched_projects", key="prod", kind="endpoints")
                == 0
            )
            fetched = svc.state.result("prod").fetched["endpoints"]  # type: ignore[union-attr]
            # The most recently fetched project is the last one rotation would come back to.
            latest = max(fetched, key=lambda pid: fetched[pid])
            endpoint = sim.endpoints_of(latest)[0]
            # Neon's updated_at has whole seconds, and on virtual time these polls took no real
            # time: let the wall clock leave the second the project last changed in (at most
            # one), or the change below would not move its updated_at.
            next_second = sim.world.projects[latest].updated_at + timedelta(seconds=1)
            await asyncio.sleep(max(0.0, (next_second - datetime.now(UTC)).total_seconds()))
            assert utcnow() > sim.world.projects[latest].updated_at
            new_state = "init"
            assert endpoint.state != new_state
            sim.set_endpoint(endpoint.id, state=new_state)
            added = sim.add_project(project_id="brand-new-000001", endpoints=1)
            before = sim.count(ENDPOINTS)
            assert await poller.poll("prod")
            spent = sim.count(ENDPOINTS) - before
    finally:
        await server.close()
    assert spent < 30  # only a slice of the 61 projects was refreshed
    assert (
        value(
            svc, "neon_endpoint_state", project_id=latest, endpoint_id=endpoint.id, state=new_state
        )
        == 1
    )
    assert value(svc, "neon_project_state", project_id=latest, state="init") == 1
    assert added in svc.state.view().of("endpoints")
    assert value(svc, "neon_exporter_detail_unfetched_projects", key="prod", kind="endpoints") == 0


async def test_changed_projects_are_served_before_the_poll_ends(service_for: Build) -> None:
    """Once new and changed projects are fetched, a snapshot with them is served while the poll
    goes on rotating through the rest."""
    sim, server, url = await start(30)
    try:
        svc = service_for(url)
        async with svc.pollers() as poller:
            assert await poller.poll("prod")  # everything fetched once
            changed = sim.project_ids()[7]
            endpoint = sim.endpoints_of(changed)[0]
            sim.set_endpoint(endpoint.id, state="init" if endpoint.state != "init" else "idle")
            published: list[PollResult] = []
            client = poller["prod"].client
            previous = svc.state.result("prod")
            # Rotation is due for every project (nothing is fresher than the poll interval).
            final = await poll_v2(
                client,
                previous=previous,
                memory=poller["prod"].memory,
                areas=[a for a in DETAIL_AREAS if a.name == "endpoints"],
                intervals={},
                publish=published.append,
                clock=lambda: 4e9,
            )
    finally:
        await server.close()
    (early,) = published
    assert early.detail["endpoints"][changed][0].state == sim.endpoints_of(changed)[0].state
    early_fetched = early.fetched["endpoints"]
    assert early_fetched[changed] == 4e9
    # At the early publish only the changed project had been refreshed, the rest not yet.
    assert sum(1 for t in early_fetched.values() if t == 4e9) == 1
    assert all(t == 4e9 for t in final.fetched["endpoints"].values())
    endpoint_calls = [r for r in sim.requests if r.route == ENDPOINTS]
    assert len(endpoint_calls) == 60


def test_list_interval_keeps_the_list_to_a_tenth_of_the_budget() -> None:
    """Cheap lists are fetched every poll; a list of 25 pages at 120/min every 125 s."""
    assert list_interval(1000, 300) == 6.0  # 3 pages: well under any poll interval
    assert list_interval(10_000, 120) == 125.0  # 25 pages = 10% of 125 s of budget
    assert list_interval(0, 600) == 1.0  # an empty account still costs one page


async def test_polls_between_lists_rotate_detail_only(service_for: Build) -> None:
    """When the list is costly for the budget, the next poll skips it and still refreshes."""
    sim, server, url = await start(2000)  # 5 pages: list_interval at 600/min = 5 s
    try:
        svc = service_for(url, max_requests_per_minute=RATE * 60)
        async with svc.pollers(slice_seconds=SLICE) as poller:
            on_virtual_time(poller, VirtualTime())
            assert await poller.poll("prod")
            lists, details = sim.count("/projects"), sim.count(ENDPOINTS)
            assert await poller.poll("prod")  # at once: well inside the 5 s list interval
            assert sim.count("/projects") == lists
            assert sim.count(ENDPOINTS) > details
            assert value(svc, "neon_exporter_poll_success", key="prod") == 1
            assert value(svc, "neon_projects", key="prod") == 2000
    finally:
        await server.close()


async def _served(svc: Service) -> str:
    """The classic text exposition, as /metrics serves it."""
    return b"".join(await svc.exposition.chunks(openmetrics=False, gzipped=False)).decode()


async def test_no_project_starves_when_more_change_each_poll_than_a_poll_affords(
    tmp_path: Path,
) -> None:
    """Endpoints off, branches on, 25 of 40 projects with a running compute (their list entry's
    compute_last_active_at moves every poll) and ~15 requests a poll: the idle projects' branch
    detail is still refreshed, so the oldest branch detail stays within a few polls."""
    sim, server, url = await start(40)
    time = VirtualTime()
    wall = 1_800_000_000.0
    config = make_config(
        url,
        key_files(tmp_path),
        max_requests_per_minute=RATE * 60,
        collectors={"endpoints": False, "branches": True},
    )
    svc = Service(config, clock=lambda: wall + time.now)
    running = sim.project_ids()[:25]
    ages: list[float] = []
    try:
        async with svc.pollers(slice_seconds=SLICE) as poller:
            on_virtual_time(poller, time)
            for poll in range(30):
                for pid in running:  # compute_last_active_at moves; updated_at does not
                    sim.world.projects[pid].endpoints[0].state = "idle"
                    sim.world.projects[pid].endpoints[0].last_active = datetime(
                        2026, 1, 1, tzinfo=UTC
                    ) + timedelta(minutes=poll)
                assert await poller.poll("prod")
                labels = {"key": "prod", "kind": "branches"}
                oldest = sample(await _served(svc), OLDEST, labels)
                assert oldest is not None
                ages.append(wall + time.now - oldest)
    finally:
        await server.close()
    assert sim.count(ENDPOINTS) == 0
    # A full rotation takes 40 / ~15 = 3 polls of 1.5 s; changed projects go first, but no
    # project waits past the bound (a few polls), however long the test runs.
    assert max(ages[5:]) < 8 * SLICE, ages


async def test_a_selection_change_applies_at_the_next_poll(service_for: Build) -> None:
    """A reload that leaves every project out is served at the next poll, even when the list is
    not due yet: no project is exported and no request is spent on one."""
    sim, server, url = await start(2000)  # 5 pages: list_interval at 600/min = 5 s
    time = VirtualTime()
    try:
        svc = service_for(url, max_requests_per_minute=RATE * 60)
        async with svc.pollers(slice_seconds=SLICE) as poller:
            on_virtual_time(poller, time)
            assert await poller.poll("prod")
        assert sample(await _served(svc), "neon_project_info") is not None
        svc.reconfigure(replace(svc.config, projects_exclude=".*"))  # what a reload applies
        details = sim.count(ENDPOINTS)
        async with svc.pollers(slice_seconds=SLICE) as poller:
            on_virtual_time(poller, time)
            assert await poller.poll("prod")  # at once: well inside the 5 s list interval
        text = await _served(svc)
    finally:
        await server.close()
    assert sample(text, "neon_project_info") is None
    assert sim.count(ENDPOINTS) == details
    assert sample(text, "neon_projects", {"key": "prod"}) == 0


async def test_a_poll_counts_what_snapshots_really_cost(tmp_path: Path) -> None:
    """Snapshots cost 1 + (branches with snapshots) requests a project, here 5: every poll,
    the first included, ends within its slice (plus one request's wait), so the scheduler
    never skips a run, and the rotation still covers every project."""
    sim, server, url = await start(30)
    for pid in sim.project_ids():
        for bid in sim.add_branches(pid, 3):
            sim.snapshots.add_snapshot(pid, bid, datetime.now(UTC) - timedelta(hours=1))
    time = VirtualTime()
    config = make_config(
        url,
        key_files(tmp_path),
        max_requests_per_minute=RATE * 60,
        collectors={"endpoints": False, "snapshots": True},
    )
    svc = Service(config)
    durations: list[float] = []
    try:
        async with svc.pollers(slice_seconds=SLICE) as poller:
            on_virtual_time(poller, time)
            for _ in range(20):
                started = time.now
                assert await poller.poll("prod")
                durations.append(time.now - started)
    finally:
        await server.close()
    assert max(durations) <= SLICE + 1 / RATE, durations
    assert len(svc.state.view().of("snapshots")) == 30
