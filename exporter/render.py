"""/metrics bytes: the snapshot part rendered in proportion to what changed, the live part apart.

Polled data only changes when a poll lands with a different answer, and then only for the
projects that changed. Each project's sample lines are kept (``fragments.py``) and re-rendered
only when its data changes; the snapshot part of each format is assembled from them family by
family (``assemble.py``) once per data change, lazily per format (classic text or OpenMetrics,
plain or gzip), and cached until the data changes again; concurrent scrapes share one render.
Key health and the exporter's own counters are small and change with every poll or request, so
they form the live part, rendered apart (and cached until they change) and written after the
snapshot part. A gzip body is gzip members back to back, which RFC 1952 allows and every gzip
reader (Go's included, so Prometheus) decodes as one stream.

Rendering runs on the event loop in slices of 5 ms of work (about 0.2 ms of CPU per
project), so a first render of 10,000 projects delays other requests by a slice at most, never
by the whole render; joining and compressing run in a thread.

A render that fails (a collector bug) is logged, counted in
``neon_exporter_render_errors_total`` and forgotten, so the next scrape renders again (the
projects rendered before the failure are kept); meanwhile scrapes get the last good rendering
of their format, or a 500 when there is none yet.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Sequence
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.openmetrics import exposition as om_format

from .assemble import Assembler
from .fragments import Fragments
from .metrics import Metrics, view_registry
from .state import State, View

_EOF = b"# EOF\n"

log = structlog.get_logger("exporter.render")

Parts = tuple[bytes, ...]
"""A body as the chunks to write one after the other (never joined: no copy per scrape)."""


def _render(registry: CollectorRegistry, openmetrics: bool) -> bytes:
    if openmetrics:
        return bytes(om_format.generate_latest(registry))  # type: ignore[no-untyped-call]
    return bytes(text_format.generate_latest(registry))


class SnapshotRenderer:
    """The snapshot part of the latest view in each format, from the kept project lines."""

    def __init__(self, areas: Sequence[str]) -> None:
        self.fragments = Fragments(areas)
        self.assembler = Assembler(self.fragments)
        self._lock = asyncio.Lock()  # one update or assembly at a time: they share the lines
        self._view: View | None = None
        self.updates = 0  # views rendered (tests read it to prove the cache works)

    async def update(self, view: View) -> None:
        """Re-render the projects whose data changed since the last view, a slice at a time."""
        if self._view is view:
            return
        self.updates += 1
        for _ in self.fragments.update(view):
            await asyncio.sleep(0)  # let the loop answer requests between slices
        self._view = view

    async def render(self, view: View, *, openmetrics: bool, gzipped: bool) -> Parts:
        """OpenMetrics without its ``# EOF`` (the live part ends the body)."""
        async with self._lock:
            await self.update(view)
            if gzipped:
                gz = self.assembler.gzipped
                return (await asyncio.to_thread(gz, view, openmetrics=openmetrics),)
            return await asyncio.to_thread(self.assembler.plain, view, openmetrics=openmetrics)


class AggregateRenderer:
    """``--metrics.mode=aggregate``: a few dozen series summed over every project; they change
    with any project, so they are rendered whole (in a thread), never from project lines."""

    def __init__(self, metrics: Metrics) -> None:
        self._areas = metrics.areas
        self.updates = 0

    async def render(self, view: View, *, openmetrics: bool, gzipped: bool) -> Parts:
        self.updates += 1
        registry = view_registry(lambda: view, areas=self._areas, mode="aggregate")
        text = await asyncio.to_thread(_render, registry, openmetrics)
        text = text.removesuffix(_EOF) if openmetrics else text
        return (gzip.compress(text, 6, mtime=0) if gzipped else text,)


class Renderer(Protocol):
    updates: int

    async def render(self, view: View, *, openmetrics: bool, gzipped: bool) -> Parts: ...


class RenderError(Exception):
    """The snapshot part could not be rendered and there is no earlier rendering to serve."""


class Exposition:
    def __init__(self, state: State, metrics: Metrics, *, render: Renderer | None = None) -> None:
        """``render`` is the snapshot renderer (a test may inject one that fails)."""
        self._state = state
        self._metrics = metrics
        if render is None:
            aggregate = metrics.mode == "aggregate"
            render = AggregateRenderer(metrics) if aggregate else SnapshotRenderer(metrics.areas)
        self.renderer: Renderer = render
        self._generation = -1
        self._parts: dict[tuple[bool, bool], asyncio.Future[Parts]] = {}
        # The live part per format, with the (counter changes, health generation) it is of.
        self._live: dict[tuple[bool, bool], tuple[tuple[int, int], bytes]] = {}
        # The last snapshot part rendered without error, per format: served while renders fail.
        self._good: dict[tuple[bool, bool], Parts] = {}

    @property
    def renders(self) -> int:
        """Data changes rendered so far (tests read it to prove the cache works)."""
        return self.renderer.updates

    async def chunks(self, *, openmetrics: bool, gzipped: bool) -> Parts:
        """The snapshot part's chunks, then the live part: written one after the other, never
        joined, so the large cached part is not copied on each scrape."""
        view = self._state.view()  # also drops data past poll.max-age, moving the generation
        if self._state.generation != self._generation:
            self._generation = self._state.generation
            self._parts = {}
        fmt = (openmetrics, gzipped)
        part = self._parts.get(fmt)
        if part is None:
            render = self.renderer.render(view, openmetrics=openmetrics, gzipped=gzipped)
            part = self._parts[fmt] = asyncio.ensure_future(render)
        try:
            # shield: one scraper hanging up must not cancel the render other scrapers wait for.
            snapshot = await asyncio.shield(part)
        except Exception as exc:  # any render failure: retry next scrape
            snapshot = self._failed(fmt, part, exc)
        else:
            self._good[fmt] = snapshot
        return (*snapshot, self._live_part(openmetrics, gzipped))

    def _live_part(self, openmetrics: bool, gzipped: bool) -> bytes:
        version = (self._metrics.live_changes, self._state.health_generation)
        live = self._live.get((openmetrics, gzipped))
        if live is None or live[0] != version:
            text = _render(self._metrics.live, openmetrics)
            live = (version, gzip.compress(text, 1, mtime=0) if gzipped else text)
            self._live[(openmetrics, gzipped)] = live
        return live[1]

    def _failed(self, fmt: tuple[bool, bool], part: asyncio.Future[Parts], exc: Exception) -> Parts:
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

    def close(self) -> None:
        """Nothing runs outside the event loop's own tasks and threads any more."""


__all__ = ["Exposition", "Parts", "RenderError", "SnapshotRenderer"]
