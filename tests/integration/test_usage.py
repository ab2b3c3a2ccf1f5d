"""The usage collector: consumption history, its 403 fallback, and its own interval."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp.test_utils import TestServer

from exporter.service import Service
from tests.sim import Simulator
from tests.support import KEYS, families, value

Build = Callable[..., Service]
CONSUMPTION = "/consumption_history/projects"
PROJECT = "/projects/{project_id}"
USAGE = {"endpoints": False, "usage": True}


async def serve(sim: Simulator) -> tuple[TestServer, str]:
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    return server, str(server.make_url("/api/v2"))


async def test_usage_from_consumption_history_100_projects_a_request(service_for: Build) -> None:
    """250 projects cost 3 consumption requests and no per-project request; values match Neon's."""
    sim = Simulator(keys=KEYS, projects=250, endpoints_per_project=0, seed=5)
    server, url = await serve(sim)
    try:
        svc = service_for(url, collectors=USAGE)
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
    finally:
        await server.close()
    assert sim.count(CONSUMPTION) == 3
    assert sim.count(PROJECT) == 0
    # One collection of the registry, not one per lookup (1,250 lookups over 250 projects).
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in families(svc)
        for s in family.samples
    }

    def value(_: Service, name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    for pid in sim.project_ids():
        p = sim.world.projects[pid]
        assert (
            value(svc, "neon_project_active_time_seconds", project_id=pid) == p.active_time_seconds
        )
        assert value(svc, "neon_project_compute_time_seconds", project_id=pid) == (
            p.compute_time_seconds
        )
        assert value(svc, "neon_project_written_data_bytes", project_id=pid) == p.written_data_bytes
        assert value(svc, "neon_project_data_storage_byte_seconds", project_id=pid) == (
            p.data_storage_bytes_hour * 3600
        )
        # Consumption history does not report data transfer: absent, never 0.
        assert value(svc, "neon_project_data_transfer_bytes", project_id=pid) is None


async def test_403_falls_back_to_project_detail_and_never_trips_the_key(
    service_for: Build,
) -> None:
    """A plan without consumption history: one 403, then GET /projects/{id}; the key stays 1."""
    sim = Simulator(keys=KEYS, projects=4, endpoints_per_project=1, consumption_history=False)
    server, url = await serve(sim)
    try:
        svc = service_for(url, collectors=USAGE)
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
            await poller.check_key("prod")
            assert await poller.poll("prod")  # within the usage interval: nothing is due
    finally:
        await server.close()
    assert sim.count(CONSUMPTION, status=403) == 1
    assert sim.count(PROJECT) == 4
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    for pid in sim.project_ids():
        p = sim.world.projects[pid]
        assert value(svc, "neon_project_data_transfer_bytes", project_id=pid) == (
            p.data_transfer_bytes
        )
        assert value(svc, "neon_project_data_storage_byte_seconds", project_id=pid) == (
            p.data_storage_bytes_hour * 3600
        )


async def test_usage_is_refetched_only_when_its_interval_has_passed(
    tmp_path: Path,
) -> None:
    """Polls within usage_interval make no usage request; the first poll after it does."""
    sim = Simulator(keys=KEYS, projects=3, endpoints_per_project=1)
    server, url = await serve(sim)
    now = [1_800_000_000.0]
    try:
        from tests.support import key_files, make_config

        config = make_config(
            url,
            key_files(tmp_path),
            collectors={"endpoints": True, "usage": True},
        )
        svc = Service(config, clock=lambda: now[0])
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
            now[0] += 600
            assert await poller.poll("prod")
            assert sim.count(CONSUMPTION) == 1
            pid = sim.project_ids()[0]
            sim.world.projects[pid].active_time_seconds += 60
            now[0] += 301
            assert await poller.poll("prod")
    finally:
        await server.close()
    assert sim.count(CONSUMPTION) == 2
    assert value(svc, "neon_project_active_time_seconds", project_id=pid) == (
        sim.world.projects[pid].active_time_seconds
    )
    assert sim.count("/projects/{project_id}/endpoints") == 9  # endpoints are every poll
