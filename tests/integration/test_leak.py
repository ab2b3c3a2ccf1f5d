"""No leak per poll: many in-process polls under faults, each followed by a scrape, and the
Python heap after them is what it was before them (tracemalloc, deterministic).

This is the soak's memory claim, made exact: the soak (tests/e2e/test_soak.py) watches a real
process's RSS and file descriptors for seconds; here every allocation the poll, the key check,
the state and the render keep is counted, over enough polls that a leak of about 450 bytes a
poll would show (the soak's RSS bound needed several KiB a poll).

The bound is not zero: asyncio keeps cancelled timer handles (each poll's deadline, each
request's timeout) until it sweeps them in bulk, so the heap saws up and down by a few tens of
KiB around a flat line (measured: +18 to +44 KiB between 100 and 1,200 polls, not growing with
the number of polls).
"""

from __future__ import annotations

import gc
import random
import tracemalloc
from collections.abc import Callable

from exporter.service import Service
from tests.sim import Fault, Simulator
from tests.support import coverage_paused, quick_retries

ENDPOINTS_ROUTE = "/projects/{project_id}/endpoints"
WARMUP = 30  # polls: connection pool, parser and render caches filled
POLLS = 150
GROWTH_BOUND = 64 * 1024  # bytes over POLLS polls: above asyncio's timer sawtooth (see above)
# Allocations made on behalf of the exporter: with the exporter's code anywhere on the stack.
# Not the simulator's (it runs in this process too), nor those of threads other tests of this
# worker left behind (their stacks hold no exporter frame).
# (Deeper stacks cost time: 16 frames reach the poller from where aiohttp allocates.)
FRAMES = 16
EXPORTERS = [
    tracemalloc.Filter(True, "*/exporter/*", all_frames=True),
    tracemalloc.Filter(False, "*/exporter/simulator/*", all_frames=True),
]
# Faults that fail or slow a poll but never remove data (as in the soak).
FAULTS: list[Callable[[], Fault]] = [
    lambda: Fault(status=500),
    lambda: Fault(status=502, body=b"<html>502 Bad Gateway</html>", content_type="text/html"),
    lambda: Fault(status=503),  # retried
    lambda: Fault(status=429, retry_after="0"),  # retried
    lambda: Fault(body=b'{"projects": ['),
    lambda: Fault(body=b"<html>login</html>", content_type="text/html"),
    lambda: Fault(status=500, route=ENDPOINTS_ROUTE),
    lambda: Fault(body=b'{"endpoints": [', route=ENDPOINTS_ROUTE),
    lambda: Fault(delay=0.01),
    lambda: Fault(status=403, route="/auth"),
]


def traced_bytes() -> int:
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(EXPORTERS)
    return sum(stat.size for stat in snapshot.statistics("filename"))


async def test_many_polls_under_faults_leave_the_heap_flat(
    sim: Simulator, sim_url: str, service_for: Callable[..., Service]
) -> None:
    """After warm-up, 150 polls, key checks and scrapes (a third of the polls faulted) grow the
    traced heap by less than 64 KiB in all; every scrape shows every project."""
    svc = service_for(sim_url)
    rng = random.Random(7)
    outcomes: list[bool] = []
    async with svc.pollers() as poller:
        quick_retries(poller)

        async def round_trip(i: int) -> None:
            if i % 3 == 0:
                sim.inject(FAULTS[rng.randrange(len(FAULTS))]())
            outcomes.append(await poller.poll("prod"))
            await poller.check_key("prod")
            *snapshot, live = await svc.exposition.chunks(openmetrics=False, gzipped=False)
            assert b"".join(snapshot).count(b"\nneon_project_info{") == 5
            assert live
            sim.clear_faults()
            sim.requests.clear()  # the simulator's own log is not the exporter's memory

        assert await poller.poll("prod")  # data to keep through the faults
        with coverage_paused():
            tracemalloc.start(FRAMES)
            try:
                # Traced from before the warm-up: what the warm-up leaves alive (the current
                # snapshot, its render, caches) is counted in both measurements, so only growth
                # shows.
                for i in range(WARMUP):
                    await round_trip(i)
                before = traced_bytes()
                for i in range(POLLS):
                    await round_trip(i)
                after = traced_bytes()
            finally:
                tracemalloc.stop()
    print(f"\nleak: {POLLS} polls, traced heap {before} -> {after} bytes")
    assert outcomes.count(False) > POLLS // 10  # the faults did land
    assert outcomes.count(True) > POLLS // 2
    assert after - before < GROWTH_BOUND, (before, after)
