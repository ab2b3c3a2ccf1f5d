"""/metrics bytes, in the four formats (classic text or OpenMetrics, plain or gzip), for the web
handler, ``once`` and the tests alike: the polled part from the store, the live part after it.

The polled part changes only when a poll lands with different data: the store then re-renders
the projects that changed (on the event loop, a slice at a time), and each format's body is
assembled and compressed once, in a thread, and cached until the data changes again. The
exporter's own metrics (key health: ``health.py``; request counters: ``own.py``) change with
every request, so they are rendered apart (cached until they change) and written last.

A render that fails (a family's bug) is logged, counted in
``neon_exporter_render_errors_total`` and forgotten, so the next scrape renders again;
meanwhile scrapes get the last good body of their format, or a 500 when there is none yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import structlog
from isal import isal_zlib
from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.openmetrics import exposition as om_format

from .health import FAMILIES as HEALTH
from .own import Metrics
from .store import Layout, Store

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.state import State

GZIP_LEVEL = 1  # isal's level 1: bench/README.md has the comparison

log = structlog.get_logger("exporter.exposition")

Parts = tuple[bytes, ...]
"""A body as the chunks to write one after the other (never joined: no copy per scrape)."""
Format = tuple[bool, bool]  # (openmetrics, gzipped)


def gzipped(parts: Sequence[bytes]) -> bytes:
    """One gzip member of ``parts`` (mtime 0: equal input gives equal bytes)."""
    compressor = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 31)
    return b"".join([*(compressor.compress(p) for p in parts), compressor.flush()])


def render_registry(registry: CollectorRegistry, *, openmetrics: bool) -> bytes:
    """The registry in a format; OpenMetrics ends in ``# EOF``, so it goes last in a body."""
    if openmetrics:
        return bytes(om_format.generate_latest(registry))  # type: ignore[no-untyped-call]
    return bytes(text_format.generate_latest(registry))


class RenderError(Exception):
    """The polled part could not be rendered and there is no earlier rendering to serve."""


class Exposition:
    def __init__(self, state: State, metrics: Metrics, layout: Layout) -> None:
        self._state = state
        self._metrics = metrics
        self.store = Store(layout)
        self._lock = asyncio.Lock()  # one update or assembly at a time
        self._generation = -1  # the state generation the store holds
        self._bodies: dict[Format, Parts] = {}
        self._good: dict[Format, Parts] = {}  # the last body rendered without error
        self._live: dict[Format, tuple[tuple[int, int], bytes]] = {}
        self.updates = 0  # data changes rendered (tests read it to prove the cache works)

    async def chunks(self, *, openmetrics: bool, gzipped: bool) -> Parts:
        """The body's chunks: the polled part, then the live part."""
        fmt = (openmetrics, gzipped)
        async with self._lock:
            try:
                body = await self._polled_async(fmt)
            except Exception as exc:  # any render failure: retry next scrape
                body = self._failed(fmt, exc)
            else:
                self._good[fmt] = body
        return (*body, self._live_part(fmt))

    async def body(self, *, openmetrics: bool, gzipped: bool) -> bytes:
        return b"".join(await self.chunks(openmetrics=openmetrics, gzipped=gzipped))

    def rendered(self, *, openmetrics: bool = False) -> bytes:
        """The plain body, rendered now by the same steps without yielding (``once``, tests)."""
        fmt = (openmetrics, False)
        for _ in self._updating():
            pass
        polled = self._bodies.get(fmt) or self._assemble(fmt)
        self._bodies[fmt] = polled
        return b"".join((*polled, self._live_part(fmt)))

    async def _polled_async(self, fmt: Format) -> Parts:
        for _ in self._updating():
            await asyncio.sleep(0)  # let the loop answer requests between slices
        body = self._bodies.get(fmt)
        if body is None:
            body = self._bodies[fmt] = await asyncio.to_thread(self._assemble, fmt)
        return body

    def _updating(self) -> Iterator[None]:
        """Bring the store to the state's view, yielding between slices. The generation is the
        view's: a poll landing during the update moves it on, and the next scrape renders that."""
        view = self._state.view()  # also drops data past poll.max-age, moving the generation
        generation = self._state.generation
        if generation != self._generation:
            yield from self.store.update(view)
            self._generation = generation
            self._bodies = {}
            self.updates += 1

    def _assemble(self, fmt: Format) -> Parts:
        parts = self.store.parts(openmetrics=fmt[0])
        return (gzipped(parts),) if fmt[1] else tuple(parts)

    def _failed(self, fmt: Format, exc: Exception) -> Parts:
        """Forget the failed render, so the next scrape renders again, and serve the last good
        body of this format if there is one (stale beats a 500 for a dashboard)."""
        self._generation = -1
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

    def _live_part(self, fmt: Format) -> bytes:
        version = (self._metrics.live_changes, self._state.health_generation)
        live = self._live.get(fmt)
        if live is None or live[0] != version:
            health = self._state.all_health()
            text = b"".join(
                [
                    *(
                        f.header(openmetrics=fmt[0]) + lines
                        for f in HEALTH
                        if (lines := f.lines(health).encode())
                    ),
                    render_registry(self._metrics.live, openmetrics=fmt[0]),
                ]
            )
            live = (version, gzipped((text,)) if fmt[1] else text)
            self._live[fmt] = live
        return live[1]


__all__ = ["Exposition", "Parts", "RenderError", "gzipped"]
