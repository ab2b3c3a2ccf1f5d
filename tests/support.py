"""Shared test data: the simulator's keys, key files, a config pointed at a simulator, and
virtual time for tests whose subject is the request budget."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import coverage
from aiohttp.test_utils import TestServer
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from exporter.areas import layout
from exporter.config.load import Config, KeyConfig, KeySource
from exporter.exposition.own import build_metrics
from exporter.exposition.serve import Exposition
from exporter.neon.budget import TokenBucket
from exporter.poll.state import State
from exporter.service import Pollers, Service
from tests.sim import Simulator

KEYS = {"prod": "prod-" + "a" * 40, "staging": "staging-" + "b" * 40}


@asynccontextmanager
async def served(sim: Simulator) -> AsyncIterator[str]:
    """``sim`` on a loopback socket for as long as the block runs; yields its v2 URL."""
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/api/v2"))
    finally:
        await server.close()


def key_files(tmp_path: Path, names: tuple[str, ...] = ("prod",)) -> tuple[KeyConfig, ...]:
    keys = []
    for name in names:
        path = tmp_path / f"{name}.key"
        path.write_text(KEYS[name] + "\n")
        path.chmod(0o600)
        keys.append(KeyConfig(name=name, source=KeySource(file=str(path))))
    return tuple(keys)


def make_config(url: str, keys: tuple[KeyConfig, ...], **changes: object) -> Config:
    base = Config(
        api_url=url,
        keys=keys,
        max_requests_per_minute=60_000,  # tests are not about pacing unless they say so
        request_timeout=2.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def assert_within_budget(times: list[float], *, per_second: float, burst: float) -> None:
    """No window [times[i], times[j]] holds more requests than the burst plus its share of the
    budget (a small slack for the clock read on the other side of the socket)."""
    times = sorted(times)
    for i, first in enumerate(times):
        for j in range(i, len(times)):
            window = times[j] - first
            assert j - i + 1 <= burst + per_second * (window + 0.05), (i, j, window)


class VirtualTime:
    """A monotonic clock that moves only when a token bucket waits for a token.

    Requests take no virtual time, so a poll spends exactly what its budget allows: a test of
    minutes of budget runs in milliseconds and what it counts does not depend on the machine.
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # At least one step of the float: a wait for the last 1e-17 of a token must still end,
        # as it does on a real clock, which never stands still.
        self.now = max(self.now + seconds, math.nextafter(self.now, math.inf))
        await asyncio.sleep(0)  # still a suspension point, as a real sleep is


class RecordingBucket(TokenBucket):
    """A token bucket on virtual time that notes the (virtual) time each token is taken: every
    request the client sends takes one, just before it is sent."""

    def __init__(self, per_minute: float, time: VirtualTime) -> None:
        super().__init__(per_minute, clock=time, sleep=time.sleep)
        self.time = time
        self.taken: list[float] = []

    async def acquire(self) -> None:
        await super().acquire()
        self.taken.append(self.time())


def on_virtual_time(pollers: Pollers, time: VirtualTime) -> dict[str, RecordingBucket]:
    """Put the poller's slices and each key's budget on ``time``; returns the buckets by key.

    Each client gets a fresh bucket of its own rate (the runtime built it on the real clock); the
    poller reads its slice deadlines and durations on the same virtual clock.
    """
    buckets: dict[str, RecordingBucket] = {}
    for key, poller in pollers.items():
        buckets[key] = RecordingBucket(poller.client.budget_per_minute, time)
        poller.client._bucket = buckets[key]
        poller.monotonic = time
    return buckets


@contextmanager
def coverage_paused() -> Iterator[None]:
    """Coverage's tracer off for a while, when ``make test`` measures coverage.

    For tracemalloc, which would count the tracer's own allocations against the exporter, and
    for property tests, whose thousands of examples run code other tests cover already and
    would take minutes under the tracer.
    """
    cov = coverage.Coverage.current()
    if cov is None:
        yield
        return
    cov.stop()
    try:
        yield
    finally:
        cov.start()


class Clock:
    """A wall clock that moves only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


_parsed: dict[bytes, list[Metric]] = {}  # the last body parsed: tests ask many values of one


def parsed(exposition: Exposition) -> list[Metric]:
    """The exposition as a scrape gets it (the OpenMetrics body ``/metrics`` serves), parsed
    by prometheus_client's OpenMetrics parser: names and types as the exporter declares them."""
    body = exposition.rendered(openmetrics=True)
    if body not in _parsed:
        _parsed.clear()
        _parsed[body] = list(text_string_to_metric_families(body.decode()))  # type: ignore[no-untyped-call]
    return _parsed[body]


def families(svc: Service) -> list[Metric]:
    return parsed(svc.exposition)


def sample_in(metrics: list[Metric], name: str, labels: dict[str, str]) -> float | None:
    for family in metrics:
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def value(svc: Service, name: str, **labels: str) -> float | None:
    """One sample of the exposition, as a scrape would see it (None: absent)."""
    return sample_in(families(svc), name, labels)


def exposition_of(state: State, areas: tuple[str, ...], *, aggregate: bool = False) -> Exposition:
    """What a service with these areas on serves of ``state``."""
    return Exposition(state, build_metrics(), layout(areas, aggregate=aggregate))


def quick_retries(pollers: Pollers) -> None:
    """Retries stay (they are exercised), their backoff waits shrink to milliseconds."""
    for poller in pollers.values():
        poller.client._backoff_base = 0.001
