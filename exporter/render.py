"""/metrics bytes: the snapshot part rendered once per state change, the live part per scrape.

Polled data only changes when a poll lands (or a key's health changes), so rendering thousands
of projects' series on every scrape would be waste. The snapshot part is rendered lazily per
format (classic text or OpenMetrics, plain or gzip), off the event loop, and cached until the
state's generation moves; concurrent scrapes share one render. The exporter's own counters are
small and change with every request to Neon, so they are rendered apart (and cached until they
change) and written after the snapshot part.
A gzip body is two gzip members back to back, which RFC 1952 allows and every gzip reader
(Go's included, so Prometheus) decodes as one stream.
"""

from __future__ import annotations

import asyncio
import gzip

from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.openmetrics import exposition as om_format

from .collectors import Metrics, frozen_registry
from .state import State, View

_EOF = b"# EOF\n"
GZIP_LEVEL = 6  # the snapshot part is compressed once per poll, so spend a little CPU on size


def _render(registry: CollectorRegistry, openmetrics: bool) -> bytes:
    if openmetrics:
        return bytes(om_format.generate_latest(registry))  # type: ignore[no-untyped-call]
    return bytes(text_format.generate_latest(registry))


class Exposition:
    def __init__(self, state: State, metrics: Metrics) -> None:
        self._state = state
        self._metrics = metrics
        self._generation = -1
        self._parts: dict[tuple[bool, bool], asyncio.Future[bytes]] = {}
        # The live part per format, with the live_changes it was rendered at.
        self._live: dict[tuple[bool, bool], tuple[int, bytes]] = {}
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
        changes = self._metrics.live_changes
        live = self._live.get(fmt)
        if live is None or live[0] != changes:
            text = _render(self._metrics.live, openmetrics)
            live = (changes, gzip.compress(text, 1) if gzipped else text)
            self._live[fmt] = live
        return snapshot, live[1]

    async def body(self, *, openmetrics: bool, gzipped: bool) -> bytes:
        return b"".join(await self.chunks(openmetrics=openmetrics, gzipped=gzipped))

    async def _snapshot(self, view: View, openmetrics: bool, gzipped: bool) -> bytes:
        plain = self._parts.get((openmetrics, False)) if gzipped else None
        if plain is not None:
            text = await asyncio.shield(plain)
        else:
            self.renders += 1
            registry = frozen_registry(view, endpoints=self._metrics.endpoints)
            text = await asyncio.to_thread(_render, registry, openmetrics)
            if openmetrics and text.endswith(_EOF):
                text = text[: -len(_EOF)]  # the live part ends the exposition
        if gzipped:
            return await asyncio.to_thread(gzip.compress, text, GZIP_LEVEL)
        return text
