"""/metrics bytes: the snapshot part rendered once per data change, the live part per change.

Polled data only changes when a poll lands with a different answer, so rendering thousands of
projects' series on every scrape would be waste. The snapshot part is rendered lazily per format
(classic text or OpenMetrics, plain or gzip) and cached until the data changes; concurrent
scrapes share one render. Key health and the exporter's own counters are small and change with
every poll or request, so they form the live part, rendered apart (and cached until they change)
and written after the snapshot part. A gzip body is two gzip members back to back, which RFC 1952
allows and every gzip reader (Go's included, so Prometheus) decodes as one stream.

Rendering is prometheus_client's own (the collectors stay the one definition of every metric),
which is pure Python: about 0.6 ms per project with two endpoints. In a thread it would hold the
GIL for seconds at 10,000 projects and stall the event loop, so large views are rendered in a
short-lived worker process; small ones in a thread.
"""

from __future__ import annotations

import asyncio
import gzip
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.openmetrics import exposition as om_format

from .collectors import Metrics, frozen_registry
from .state import State, View

_EOF = b"# EOF\n"
GZIP_LEVEL = 6  # the snapshot part is compressed once per change, so spend a little CPU on size
PROCESS_RENDER_MIN_PROJECTS = 2000  # below this a thread's GIL hold is a few hundred ms at most


def _render(registry: CollectorRegistry, openmetrics: bool) -> bytes:
    if openmetrics:
        return bytes(om_format.generate_latest(registry))  # type: ignore[no-untyped-call]
    return bytes(text_format.generate_latest(registry))


def render_snapshot(view: View, *, endpoints: bool, openmetrics: bool, gzipped: bool) -> bytes:
    """The snapshot part of one format; OpenMetrics without its ``# EOF`` (the live part ends)."""
    text = _render(frozen_registry(view, endpoints=endpoints), openmetrics)
    if openmetrics and text.endswith(_EOF):
        text = text[: -len(_EOF)]
    return gzip.compress(text, GZIP_LEVEL) if gzipped else text


def _render_in_worker(view: View, endpoints: bool, openmetrics: bool, gzipped: bool) -> bytes:
    # Runs in the worker process: the view pickles as plain dicts and is rebuilt here.
    return render_snapshot(view, endpoints=endpoints, openmetrics=openmetrics, gzipped=gzipped)


class Exposition:
    def __init__(
        self,
        state: State,
        metrics: Metrics,
        *,
        process_min_projects: int = PROCESS_RENDER_MIN_PROJECTS,
    ) -> None:
        self._state = state
        self._metrics = metrics
        self._process_min_projects = process_min_projects
        self._pools: set[ProcessPoolExecutor] = set()  # renders in flight
        self._generation = -1
        self._parts: dict[tuple[bool, bool], asyncio.Future[bytes]] = {}
        # The live part per format, with the (counter changes, health generation) it is of.
        self._live: dict[tuple[bool, bool], tuple[tuple[int, int], bytes]] = {}
        self.renders = 0  # snapshot renders so far; tests read it to prove the cache works

    async def chunks(self, *, openmetrics: bool, gzipped: bool) -> tuple[bytes, bytes]:
        """(snapshot part, live part): written one after the other, never joined, so the
        large cached part is not copied on each scrape."""
        view = self._state.view()  # also drops data past poll.max-age, moving the generation
        if self._state.generation != self._generation:
            self._generation = self._state.generation
            self._parts = {}
        fmt = (openmetrics, gzipped)
        part = self._parts.get(fmt)
        if part is None:
            part = asyncio.ensure_future(self._snapshot(view, openmetrics, gzipped))
            self._parts[fmt] = part
        # shield: one scraper hanging up must not cancel the render other scrapers wait for.
        snapshot = await asyncio.shield(part)
        version = (self._metrics.live_changes, self._state.health_generation)
        live = self._live.get(fmt)
        if live is None or live[0] != version:
            text = _render(self._metrics.live, openmetrics)
            live = (version, gzip.compress(text, 1) if gzipped else text)
            self._live[fmt] = live
        return snapshot, live[1]

    async def body(self, *, openmetrics: bool, gzipped: bool) -> bytes:
        return b"".join(await self.chunks(openmetrics=openmetrics, gzipped=gzipped))

    async def _snapshot(self, view: View, openmetrics: bool, gzipped: bool) -> bytes:
        plain = self._parts.get((openmetrics, False)) if gzipped else None
        if plain is not None:  # compress the cached plain part (zlib releases the GIL)
            return await asyncio.to_thread(gzip.compress, await asyncio.shield(plain), GZIP_LEVEL)
        self.renders += 1
        endpoints = self._metrics.endpoints
        if len(view.projects) < self._process_min_projects:
            return await asyncio.to_thread(
                render_snapshot,
                view,
                endpoints=endpoints,
                openmetrics=openmetrics,
                gzipped=gzipped,
            )
        # A fresh worker per render, spawned, not forked (forking a process that runs an event
        # loop and threads is unsafe): its memory peak goes back to the system when it exits,
        # and no idle worker waits between renders.
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._pools.add(pool)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool,
                _render_in_worker,
                view,
                endpoints,
                openmetrics,
                gzipped,
            )
        finally:
            self._pools.discard(pool)
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=False, cancel_futures=True)
        self._pools.clear()


__all__ = ["Exposition", "render_snapshot"]
