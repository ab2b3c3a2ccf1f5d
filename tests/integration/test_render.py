"""The /metrics cache: rendered once per state change, and never stale."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable

from prometheus_client import generate_latest

from exporter.runtime import Runtime
from exporter.simulator import Simulator
from tests.procs import sample

Build = Callable[..., Runtime]


async def text(rt: Runtime) -> str:
    return (await rt.exposition.body(openmetrics=False, gzipped=False)).decode()


async def test_cache_invalidated_when_and_only_when_state_changes(
    sim: Simulator, sim_url: str, runtime_for: Build
) -> None:
    """Scrapes reuse one render until a poll lands or a key's health changes."""
    rt = runtime_for(sim_url)
    pid = sim.project_ids()[0]
    async with rt.poller() as poller:
        assert await poller.poll("prod")
        first = await text(rt)
        assert await text(rt) == first
        await poller.check_key("prod")  # accepted again: no change
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
        assert rt.exposition.renders == 3
        assert sample(revoked, "neon_api_key_valid", {"key": "prod"}) == 0


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
    rt = runtime_for(sim_url)
    async with rt.poller() as poller:
        assert await poller.poll("prod")
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
    rt = runtime_for(sim_url)
    async with rt.poller() as poller:
        assert await poller.poll("prod")
    bodies = await asyncio.gather(
        *(rt.exposition.body(openmetrics=False, gzipped=False) for _ in range(20))
    )
    assert len(set(bodies)) == 1
    assert rt.exposition.renders == 1
