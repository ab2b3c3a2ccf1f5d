"""Areas fail apart: a failing detail area keeps its last data and never fails the poll.

Over real sockets against the simulator, with an injected wall clock where data age matters.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exporter.poll.state import PollResult, State
from exporter.service import Service
from exporter.simulator.renderings import branch_json
from exporter.web.landing import KeyRow, page
from tests.sim import Fault, Simulator
from tests.support import Clock, key_files, make_config, quick_retries, value

CONSUMPTION = "/consumption_history/projects"
BRANCHES = "/projects/{project_id}/branches"


def runtime(url: str, tmp_path: Path, clock: Clock, **changes: object) -> Service:
    config = make_config(url, key_files(tmp_path), **changes)
    return Service(config, clock=clock)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "requesting user is not a member of org_id"),
        (406, "range is not valid for granularity"),
    ],
)
async def test_failing_consumption_history_keeps_projects_and_its_own_last_data(
    world: tuple[Simulator, str], tmp_path: Path, status: int, message: str
) -> None:
    """Consumption history answers one of its documented errors: the poll still succeeds with
    every project and endpoint; usage keeps its last values until they are poll_max_age old,
    and says it is failing in neon_exporter_collector_success."""
    sim, url = world
    clock = Clock()
    svc = runtime(
        url,
        tmp_path,
        clock,
        collectors={"endpoints": True, "usage": True},
        poll_max_age=3600.0,
        usage_interval=900.0,
    )
    pid = sim.project_ids()[0]
    body = json.dumps({"message": message}).encode()
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        before = value(svc, "neon_project_compute_time_seconds", project_id=pid)
        assert before is not None
        sim.inject(Fault(status=status, body=body, route=CONSUMPTION, times=None))
        for _ in range(3):  # usage due at every poll, failing each time, kept for 3 x 901 s
            clock.now += 901
            assert await poller.poll_all()
            assert len(svc.state.view().projects) == 4
            assert len(svc.state.view().of("endpoints")) == 4
            assert value(svc, "neon_project_compute_time_seconds", project_id=pid) == before
            assert value(svc, "neon_exporter_poll_success", key="prod") == 1
            assert value(svc, "neon_exporter_collector_success", key="prod", collector="usage") == 0
            for ok in ("projects", "endpoints"):
                assert value(svc, "neon_exporter_collector_success", key="prod", collector=ok) == 1
        clock.now += 901  # the last good usage is now over poll_max_age old: it goes
        assert await poller.poll("prod")
        assert value(svc, "neon_project_compute_time_seconds", project_id=pid) is None
        assert len(svc.state.view().of("endpoints")) == 4
        sim.clear_faults()
        clock.now += 901
        assert await poller.poll("prod")  # and it comes back once Neon answers again
    assert value(svc, "neon_project_compute_time_seconds", project_id=pid) is not None
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="usage") == 1
    assert sim.count(CONSUMPTION, status=status) == 4  # one request a poll, not one a batch


async def test_failing_endpoints_of_one_project_keep_the_rest(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """An endpoint request that keeps failing (HTTP 500 after retries) marks the endpoints area
    failed and keeps that project's last endpoints; every other project is refreshed."""
    sim, url = world
    clock = Clock()
    svc = runtime(url, tmp_path, clock, poll_max_age=600.0)
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        assert len(svc.state.view().of("endpoints")) == 4
        route = "/projects/{project_id}/endpoints"
        sim.inject(Fault(status=500, route=route, times=None))
        clock.now += 60
        assert await poller.poll("prod")
        assert len(svc.state.view().of("endpoints")) == 4  # last good data kept
        assert value(svc, "neon_exporter_collector_success", key="prod", collector="endpoints") == 0
        clock.now += 600  # past poll_max_age since the last good fetch: failing detail goes
        assert await poller.poll("prod")
        assert len(svc.state.view().of("endpoints")) == 0
        assert len(svc.state.view().projects) == 4


async def test_repeating_branch_cursor_keeps_pages_read_warns_and_counts(
    world: tuple[Simulator, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One project's branch list repeats its cursor: its branches read so far are kept (each
    once), the repeat is logged and counted, and every other project's branches are complete."""
    sim, url = world
    for pid in sim.project_ids():
        sim.add_branches(pid, 2)  # three branches each
    branch = sim.world.projects[sim.project_ids()[0]].branches[0]
    page = json.dumps({"branches": [branch_json(branch)], "pagination": {"next": "again"}})
    sim.inject(Fault(body=page.encode(), route=BRANCHES, times=2))
    svc = runtime(
        url,
        tmp_path,
        Clock(),
        collectors={"endpoints": True, "branches": True},
        max_concurrency=1,  # one project at a time: the first one gets both faulty pages
    )
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    view = svc.state.view()
    assert len(view.projects) == 4
    counts = {pid: len(view.of("branches").get(pid, ())) for pid in sim.project_ids()}
    faulty = [pid for pid, n in counts.items() if n == 1]
    assert len(faulty) == 1  # both faulty pages held one branch: kept once
    for pid, n in counts.items():
        if pid not in faulty:
            assert n == len(sim.world.projects[pid].branches)
    assert value(svc, "neon_exporter_api_cursor_repeats_total", key="prod", route=BRANCHES) == 1.0
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="branches") == 1
    assert "pagination cursor repeats" in capsys.readouterr().out


async def test_a_second_key_never_hides_detail_the_first_fetched(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """Two keys see the same projects and rotate their detail at their own pace under a small
    budget: the projects with endpoint series never fall between polls of either key."""
    sim, url = world
    for _ in range(36):
        sim.add_project(endpoints=1)  # 40 in all
    svc = Service(
        make_config(url, key_files(tmp_path, ("prod", "staging")), max_requests_per_minute=600.0)
    )
    seen: list[int] = []
    # About a dozen endpoint requests a poll: several polls to rotate through 40 projects.
    async with svc.pollers(slice_seconds=0.3) as poller:
        for key in ("prod", "prod", "prod", "staging", "staging", "prod", "staging"):
            assert await poller.poll(key)
            seen.append(len(svc.state.view().of("endpoints")))
    assert seen == sorted(seen), seen
    assert 0 < seen[0] < 40  # the rotation really was partial


def test_early_publish_of_a_failed_poll_does_not_extend_poll_max_age() -> None:
    """Expiry counts from the last successful poll, as NeonExporterDataStale does: a poll that
    published its changed projects early and then failed does not keep the data alive."""
    clock = Clock(1000.0)
    state = State(keys=("prod",), max_age=600.0, clock=clock)
    empty: dict[str, object] = {}
    snap = PollResult("prod", 1000.0, empty)  # type: ignore[arg-type]
    state.record_poll("prod", snap, 1.0)
    clock.now = 1500.0
    state.publish("prod", PollResult("prod", 1500.0, empty, empty))  # type: ignore[arg-type]
    state.record_poll("prod", None, 30.0, error="poll deadline exceeded")
    clock.now = 1600.0
    assert state.result("prod") is not None  # 600 s after the last success: still served
    clock.now = 1601.0
    assert state.expire() == ["prod"]
    assert state.health("prod").last_success == 1000.0  # the alert's clock: the same time


async def test_failing_polls_lose_the_data_after_poll_max_age(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """A key whose project list keeps failing serves its last data until poll_max_age after the
    last successful poll (the time NeonExporterDataStale reads), then drops it."""
    sim, url = world
    clock = Clock()
    svc = runtime(url, tmp_path, clock, poll_max_age=600.0)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        last = value(svc, "neon_exporter_poll_last_success_timestamp_seconds", key="prod")
        assert last == clock.now
        sim.inject(Fault(status=400, route="/projects", times=None))
        for step in (300.0, 300.0):
            clock.now += step
            assert not await poller.poll("prod")
            assert len(svc.state.view().projects) == 4
        clock.now += 1.0
        assert not await poller.poll("prod")
    assert clock.now - last > 600.0
    assert svc.state.view().projects == {}
    assert value(svc, "neon_exporter_poll_last_success_timestamp_seconds", key="prod") == last


async def test_each_area_reports_how_long_its_requests_took(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """neon_exporter_collector_duration_seconds: a slow endpoints route shows in the endpoints
    area's duration (at least the delay), not in the project list's; on the landing page too."""
    sim, url = world
    svc = runtime(url, tmp_path, Clock(), collectors={"endpoints": True})
    sim.inject(Fault(delay=0.05, route="/projects/{project_id}/endpoints", times=None))
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    endpoints = value(
        svc, "neon_exporter_collector_duration_seconds", key="prod", collector="endpoints"
    )
    listing = value(
        svc, "neon_exporter_collector_duration_seconds", key="prod", collector="projects"
    )
    assert endpoints is not None
    assert endpoints >= 0.05
    assert listing is not None
    assert listing < endpoints
    assert f"endpoints ok {endpoints:.2f}s" in page(
        [KeyRow("prod", svc.state.health("prod"), 4, 0.0, 0.0, 1.0)], demo=False
    )
