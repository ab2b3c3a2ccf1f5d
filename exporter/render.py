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

A render that fails (a killed worker, a bug) is logged, counted in
``neon_exporter_render_errors_total`` and forgotten, so the next scrape renders again; meanwhile
scrapes get the last good rendering of their format, or a 500 when there is none yet.
"""

from __future__ import annotations

import asyncio
import gzip
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.openmetrics import exposition as om_format

from .areas import frozen_registry
from .metrics import Metrics
from .state import State, View

_EOF = b"# EOF\n"
GZIP_LEVEL = 6  # the snapshot part is compressed once per change, so spend a little CPU on size
PROCESS_RENDER_MIN_PROJECTS = 2000  # below this a thread's GIL hold is a few hundred ms at most

log = structlog.get_logger("exporter.render")


def _render(registry: CollectorRegistry, openmetrics: bool) -> bytes:
    if openmetrics:
        return bytes(om_format.generate_latest(registry))  # type: ignore[no-untyped-call]
    return bytes(text_format.generate_latest(registry))


def render_snapshot(
    view: View, *, areas: tuple[str, ...], openmetrics: bool, gzipped: bool
) -> bytes:
    """The snapshot part of one format; OpenMetrics without its ``# EOF`` (the live part ends)."""
    text = _render(frozen_registry(view, areas=areas), openmetrics)
    if openmetrics and text.endswith(_EOF):
        text = text[: -len(_EOF)]
    return gzip.compress(text, GZIP_LEVEL) if gzipped else text


class RenderError(Exception):
    """The snapshot part could not be rendered and there is no earlier rendering to serve."""


class Renderer(Protocol):
    """Renders a snapshot part; :func:`render_snapshot` unless a test injects another."""

    def __call__(
        self, view: View, *, areas: tuple[str, ...], openmetrics: bool, gzipped: bool
    ) -> bytes: ...


class Exposition:
    def __init__(
        self,
        state: State,
        metrics: Metrics,
        *,
        process_min_projects: int = PROCESS_RENDER_MIN_PROJECTS,
        render: Renderer = render_snapshot,
    ) -> None:
        """``render`` runs in a thread or a worker process (so it must pickle)."""
        self._state = state
        self._render = render
        self._metrics = metrics
        self._process_min_projects = process_min_projects
        self._pools: set[ProcessPoolExecutor] = set()  # renders in flight
        self._generation = -1
        self._parts: dict[tuple[bool, bool], asyncio.Future[bytes]] = {}
        # The live part per format, with the (counter changes, health generation) it is of.
        self._live: dict[tuple[bool, bool], tuple[tuple[int, int], bytes]] = {}
        # The last snapshot part rendered without error, per format: served while renders fail.
        self._good: dict[tuple[bool, bool], bytes] = {}
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
        try:
            # shield: one scraper hanging up must not cancel the render other scrapers wait for.
            snapshot = await asyncio.shield(part)
        except Exception as exc:  # any render failure: retry next scrape
            snapshot = self._failed(fmt, part, exc)
        else:
            self._good[fmt] = snapshot
        version = (self._metrics.live_changes, self._state.health_generation)
        live = self._live.get(fmt)
        if live is None or live[0] != version:
            text = _render(self._metrics.live, openmetrics)
            live = (version, gzip.compress(text, 1) if gzipped else text)
            self._live[fmt] = live
        return snapshot, live[1]

    def _failed(self, fmt: tuple[bool, bool], part: asyncio.Future[bytes], exc: Exception) -> bytes:
        """A render failed: forget it, so the next scrape renders again, and serve the last good
        rendering of this format if there is one (stale beats a 500 for a dashboard)."""
        if self._parts.get(fmt) is part:  # the first of the scrapers that shared it reports it
            del self._parts[fmt]
            self._metrics.count_render_error()
            log.error(
                "rendering /metrics failed; serving the last good rendering"
                if fmt in self._good
                else "rendering /metrics failed",
                error=f"{type(exc).__name__}: {exc}",
                openmetrics=fmt[0],
                gzip=fmt[1],
            )
        if fmt in self._good:
            return self._good[fmt]
        raise RenderError("rendering /metrics failed") from exc

    async def body(self, *, openmetrics: bool, gzipped: bool) -> bytes:
        return b"".join(await self.chunks(openmetrics=openmetrics, gzipped=gzipped))

    async def _snapshot(self, view: View, openmetrics: bool, gzipped: bool) -> bytes:
        plain = self._parts.get((openmetrics, False)) if gzipped else None
        if plain is not None:  # compress the cached plain part (zlib releases the GIL)
            return await asyncio.to_thread(gzip.compress, await asyncio.shield(plain), GZIP_LEVEL)
        self.renders += 1
        # The view pickles as plain dicts for a worker process and is rebuilt there.
        job = partial(
            self._render,
            view,
            areas=self._metrics.areas,
            openmetrics=openmetrics,
            gzipped=gzipped,
        )
        if len(view.projects) < self._process_min_projects:
            return await asyncio.to_thread(job)
        # A fresh worker per render, spawned, not forked (forking a process that runs an event
        # loop and threads is unsafe): its memory peak goes back to the system when it exits,
        # and no idle worker waits between renders.
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._pools.add(pool)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, job)
        finally:
            self._pools.discard(pool)
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=False, cancel_futures=True)
        self._pools.clear()


__all__ = ["Exposition", "RenderError", "Renderer", "render_snapshot"]
