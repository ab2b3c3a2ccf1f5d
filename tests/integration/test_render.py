"""The /metrics cache: rendered once per state change, and never stale."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from exporter.exposition.family import Family, Sample
from exporter.exposition.serve import Exposition
from exporter.exposition.store import Layout
from exporter.poll.state import View
from exporter.service import Service
from exporter.web.app import SERVICE, metrics
from tests.procs import sample
from tests.sim import Simulator

Build = Callable[..., Service]


async def polled(service_for: Build, url: str) -> Service:
    """A runtime that has polled key "prod" once."""
    svc: Service = service_for(url)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    return svc


async def text(svc: Service) -> str:
    return (await svc.exposition.body(openmetrics=False, gzipped=False)).decode()


async def test_cache_invalidated_when_and_only_when_state_changes(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """The snapshot part is re-rendered only when polled data change; health shows at once."""
    svc = service_for(sim_url)
    pid = sim.project_ids()[0]
    # An active compute is "last active" now, to the second: a poll that crosses a second would
    # see new data. Idle computes make the second answer from Neon the same as the first.
    for project in sim.project_ids():
        for endpoint in sim.endpoints_of(project):
            sim.set_endpoint(endpoint.id, state="idle")
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        first = await text(svc)
        assert await text(svc) == first
        await poller.check_key("prod")  # accepted again: no change
        assert await poller.poll("prod")  # the same answer from Neon: no change to the data
        await text(svc)
        assert svc.exposition.updates == 1

        sim.set_project(pid, size_bytes=123_456_789)
        assert await poller.poll("prod")
        after_poll = await text(svc)
        assert svc.exposition.updates == 2
        assert sample(after_poll, "neon_project_size_bytes", {"project_id": pid}) == 123_456_789

        sim.revoke("prod")
        await poller.check_key("prod")
        revoked = await text(svc)
        assert sample(revoked, "neon_api_key_valid", {"key": "prod"}) == 0
        assert not await poller.poll("prod")
        failed = await text(svc)
        assert sample(failed, "neon_exporter_poll_success", {"key": "prod"}) == 0
        # Key health lives in the live part: no re-render of the projects for it.
        assert svc.exposition.updates == 2


async def test_live_counters_are_fresh_on_every_scrape(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """Request counters change without a re-render of the snapshot part."""
    svc = service_for(sim_url)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        before = await text(svc)
        await poller.check_key("prod")
        after = await text(svc)
    labels = {"key": "prod", "route": "/auth", "code": "200"}
    assert sample(after, "neon_exporter_api_requests_total", labels) == (
        (sample(before, "neon_exporter_api_requests_total", labels) or 0) + 1
    )
    assert svc.exposition.updates == 1


async def test_formats_match_the_uncached_registry(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """Cached text equals a direct render; gzip decodes to it; OpenMetrics has one # EOF."""
    svc = await polled(service_for, sim_url)
    plain = await svc.exposition.body(openmetrics=False, gzipped=False)
    assert plain == svc.exposition.rendered()
    assert gzip.decompress(await svc.exposition.body(openmetrics=False, gzipped=True)) == plain
    om = await svc.exposition.body(openmetrics=True, gzipped=True)
    om_text = gzip.decompress(om).decode()
    assert om_text.count("# EOF") == 1
    assert om_text.endswith("# EOF\n")
    assert "neon_project_info{" in om_text


async def test_concurrent_scrapes_share_one_render(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """Twenty scrapes arriving together cause a single render."""
    svc = await polled(service_for, sim_url)
    bodies = await asyncio.gather(
        *(svc.exposition.body(openmetrics=False, gzipped=False) for _ in range(20))
    )
    assert len(set(bodies)) == 1
    assert svc.exposition.updates == 1


async def test_a_change_re_renders_only_the_changed_project(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """Each project's lines are kept: a poll that changes one project renders that one project
    again, in every format, and the bodies have the new value."""
    svc = service_for(sim_url)
    pid = sim.project_ids()[2]
    # An active compute is "last active" now, to the second: a poll that crosses a second would
    # change that project too. Idle computes change only when the test changes them.
    for project in sim.project_ids():
        for endpoint in sim.endpoints_of(project):
            sim.set_endpoint(endpoint.id, state="idle")
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        await svc.exposition.body(openmetrics=True, gzipped=True)
        store = svc.exposition.store
        before = store.rendered
        assert before == len(sim.project_ids())
        sim.set_project(pid, size_bytes=424_242)
        assert await poller.poll("prod")
        om = gzip.decompress(await svc.exposition.body(openmetrics=True, gzipped=True)).decode()
        plain = (await svc.exposition.body(openmetrics=False, gzipped=False)).decode()
    assert store.rendered == before + 1
    assert sample(om, "neon_project_size_bytes", {"project_id": pid}) == 424_242
    assert plain.encode() == svc.exposition.rendered()


class FailsOnce:
    """The samples of a family that raises on its ``nth`` rendering (as a bug in an area's
    family would) and yields nothing otherwise."""

    def __init__(self, nth: int) -> None:
        self.calls = 0
        self.nth = nth

    def __call__(self, view: View) -> Iterable[Sample]:
        self.calls += 1
        if self.calls == self.nth:
            raise RuntimeError("render failed on purpose")
        return ()


@asynccontextmanager
async def metrics_server(svc: Service) -> AsyncIterator[Callable[[], Awaitable[tuple[int, str]]]]:
    """The real /metrics handler on a loopback socket; yields a scrape function."""
    app = web.Application()
    app[SERVICE] = svc
    app.router.add_get("/metrics", metrics)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()

    async def scrape() -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.make_url("/metrics")) as r,
        ):
            return r.status, await r.text()

    try:
        yield scrape
    finally:
        await server.close()


def with_renderer(svc: Service, nth: int) -> tuple[Service, FailsOnce]:
    """``svc`` serving its layout and one more family, of the whole view, that fails once."""
    fails = FailsOnce(nth)
    layout = svc.exposition.store.layout
    family: Family[View] = Family("neon_test_failing", "Fails once.", (), fails)
    failing = Layout((*layout.families, (family, "view")), layout.areas)
    svc.exposition = Exposition(svc.state, svc.metrics, failing)
    return svc, fails


async def test_a_failed_first_render_is_retried_on_the_next_scrape(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """No good rendering yet: the failed scrape gets 500, the next one renders again (200) and
    counts the failure in neon_exporter_render_errors_total."""
    svc, _ = with_renderer(await polled(service_for, sim_url), 1)
    async with metrics_server(svc) as scrape:
        status, _ = await scrape()
        assert status == 500
        status, body = await scrape()
    assert status == 200
    assert sample(body, "neon_project_info", {"project_id": sim.project_ids()[0]}) == 1
    assert sample(body, "neon_exporter_render_errors_total") == 1


async def test_a_failed_render_serves_the_last_good_one_then_retries(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """The data change and the new render fails: that scrape gets the last good rendering (200),
    the next one the new data."""
    svc, renderer = with_renderer(await polled(service_for, sim_url), 2)
    pid = sim.project_ids()[0]
    async with metrics_server(svc) as scrape:
        status, before = await scrape()
        assert status == 200
        old_size = sample(before, "neon_project_size_bytes", {"project_id": pid})
        sim.set_project(pid, size_bytes=987_654_321)
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
        status, during = await scrape()
        assert status == 200
        assert sample(during, "neon_project_size_bytes", {"project_id": pid}) == old_size
        assert sample(during, "neon_exporter_render_errors_total") == 1
        status, after = await scrape()
    assert status == 200
    assert sample(after, "neon_project_size_bytes", {"project_id": pid}) == 987_654_321
    assert renderer.calls == 3
