"""The /metrics cache: rendered once per state change, and never stale."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable

from prometheus_client import generate_latest

from exporter.render import Exposition
from exporter.runtime import Runtime
from exporter.simulator import Simulator
from tests.procs import sample

Build = Callable[..., Runtime]


async def polled(runtime_for: Build, url: str) -> Runtime:
    """A runtime that has polled key "prod" once."""
    rt: Runtime = runtime_for(url)
    async with rt.poller() as poller:
        assert await poller.poll("prod")
    return rt


async def text(rt: Runtime) -> str:
    return (await rt.exposition.body(openmetrics=False, gzipped=False)).decode()


async def test_cache_invalidated_when_and_only_when_state_changes(
    sim: Simulator, sim_url: str, runtime_for: Build
) -> None:
    """The snapshot part is re-rendered only when polled data change; health shows at once."""
    rt = runtime_for(sim_url)
    pid = sim.project_ids()[0]
    # An active compute is "last active" now, to the second: a poll that crosses a second would
    # see new data. Idle computes make the second answer from Neon the same as the first.
    for project in sim.project_ids():
        for endpoint in sim.endpoints_of(project):
            sim.set_endpoint(endpoint.id, state="idle")
    async with rt.poller() as poller:
        assert await poller.poll("prod")
        first = await text(rt)
        assert await text(rt) == first
        await poller.check_key("prod")  # accepted again: no change
        assert await poller.poll("prod")  # the same answer from Neon: no change to the data
        await text(rt)
        assert rt.exposition.renders == 1

        sim.set_project(pid, size_bytes=123_456_789)
        assert await poller.poll("prod")
        after_poll = await text(rt)
        assert rt.exposition.renders == 2
        assert sample(after_poll, "neon_project_size_bytes", {"project_id": pid}) == 123_456_789

        sim.revoke("prod")
        await poller.check_key("prod")
        revoked = await text(rt)
        assert sample(revoked, "neon_api_key_valid", {"key": "prod"}) == 0
        assert not await poller.poll("prod")
        failed = await text(rt)
        assert sample(failed, "neon_exporter_poll_success", {"key": "prod"}) == 0
        # Key health lives in the live part: no re-render of the projects for it.
        assert rt.exposition.renders == 2


async def test_live_counters_are_fresh_on_every_scrape(
    sim: Simulator, sim_url: str, runtime_for: Build
) -> None:
    """Request counters change without a re-render of the snapshot part."""
    rt = runtime_for(sim_url)
    async with rt.poller() as poller:
        assert await poller.poll("prod")
        before = await text(rt)
        await poller.check_key("prod")
        after = await text(rt)
    labels = {"key": "prod", "route": "/auth", "code": "200"}
    assert sample(after, "neon_exporter_api_requests_total", labels) == (
        (sample(before, "neon_exporter_api_requests_total", labels) or 0) + 1
    )
    assert rt.exposition.renders == 1


async def test_formats_match_the_uncached_registry(
    sim: Simulator, sim_url: str, runtime_for: Build
) -> None:
    """Cached text equals a direct render; gzip decodes to it; OpenMetrics has one # EOF."""
    rt = await polled(runtime_for, sim_url)
    plain = await rt.exposition.body(openmetrics=False, gzipped=False)
    assert plain == generate_latest(rt.metrics.registry)
    assert gzip.decompress(await rt.exposition.body(openmetrics=False, gzipped=True)) == plain
    om = await rt.exposition.body(openmetrics=True, gzipped=True)
    om_text = gzip.decompress(om).decode()
    assert om_text.count("# EOF") == 1
    assert om_text.endswith("# EOF\n")
    assert "neon_project_info{" in om_text


async def test_concurrent_scrapes_share_one_render(
    sim: Simulator, sim_url: str, runtime_for: Build
) -> None:
    """Twenty scrapes arriving together cause a single render."""
    rt = await polled(runtime_for, sim_url)
    bodies = await asyncio.gather(
        *(rt.exposition.body(openmetrics=False, gzipped=False) for _ in range(20))
    )
    assert len(set(bodies)) == 1
    assert rt.exposition.renders == 1


async def test_worker_process_render_equals_thread_render(
    sim: Simulator, sim_url: str, runtime_for: Build
) -> None:
    """Large views are rendered in a worker process; the bytes are the same as in a thread."""
    rt = await polled(runtime_for, sim_url)
    in_thread = await rt.exposition.body(openmetrics=True, gzipped=False)
    in_process = Exposition(rt.state, rt.metrics, process_min_projects=0)
    try:
        assert await in_process.body(openmetrics=True, gzipped=False) == in_thread
        gz = await in_process.body(openmetrics=False, gzipped=True)
        assert gzip.decompress(gz) == await rt.exposition.body(openmetrics=False, gzipped=False)
    finally:
        in_process.close()
