"""A ``Retry-After`` on 423/429/503 pauses every request of the key, on every route, the key probe
included, whether or not the request that got it is retried.

The simulator's request log is the witness: it records when each request arrived, so "no request
of that key within Retry-After of the 429" is read from it, not inferred from the client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from exporter.neon.budget import MAX_PAUSE
from exporter.neon.client import MAX_RETRY_WAIT
from exporter.service import Service
from tests.procs import sample
from tests.sim import Fault, RequestRecord, Simulator
from tests.support import VirtualTime, on_virtual_time, value

Build = Callable[..., Service]


def after(sim: Simulator, record: RequestRecord) -> list[RequestRecord]:
    """Requests of the same key that arrived after ``record``."""
    return [r for r in sim.requests if r.key_name == record.key_name and r.time > record.time]


async def until(condition: Callable[[], bool], *, within: float = 10.0) -> None:
    give_up = time.monotonic() + within
    while not condition():
        assert time.monotonic() < give_up, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_a_429_on_the_last_attempt_still_pauses_the_key(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """Every attempt at the list answers 429 with Retry-After: 1, so the last one fails the poll
    unretried. The key probe and the next poll, started at once, still wait out that second."""
    svc = service_for(sim_url)
    async with svc.pollers() as poller:
        sim.inject(
            Fault(status=429, route="/projects", key_name="prod", retry_after="1", times=None)
        )
        assert not await poller.poll("prod")
        sim.clear_faults()
        last_429 = [r for r in sim.requests if r.status == 429][-1]
        await asyncio.gather(poller.check_key("prod"), poller.poll("prod"))
    later = after(sim, last_429)
    assert {r.route for r in later} >= {"/auth", "/projects", "/projects/{project_id}/endpoints"}
    early = [
        (r.route, round(r.time - last_429.time, 3)) for r in later if r.time < last_429.time + 1
    ]
    assert early == []
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1


async def test_a_wait_over_the_cap_fails_the_request_and_pauses_the_key(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """A Retry-After past the cap is not waited on by the request (it fails at once), but the key
    honours it: its budget lets nothing through, the probe included."""
    svc = service_for(sim_url)
    wait = int(MAX_RETRY_WAIT) + 60
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        sim.inject(Fault(status=429, route="/projects", retry_after=str(wait), times=1))
        assert not await poller.poll("prod")
        assert sim.count("/projects", status=429) == sim.count("/projects") - 1  # not retried
        assert poller["prod"].client.tokens() == 0
    assert value(svc, "neon_api_key_valid", key="prod") == 1


async def test_a_request_queued_for_a_slot_rechecks_the_pause(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """With one concurrency slot, the probe takes its token while the list request is out, then
    queues for the slot. The list's answer (429, Retry-After: 2) comes while it waits: the probe
    must not be sent until the pause is over."""
    svc = service_for(sim_url, max_concurrency=1)
    fault = Fault(status=429, route="/projects", retry_after="2", delay=1.0, times=1)
    sim.inject(fault)
    async with svc.pollers() as poller:
        polling = asyncio.create_task(poller.poll("prod"))
        await until(lambda: fault.times == 0)  # the list request is at the simulator, in the delay
        await asyncio.gather(poller.check_key("prod"), polling)
        assert polling.result()
    (limited,) = [r for r in sim.requests if r.status == 429]
    # The 429 left the simulator no sooner than its arrival plus the fault's delay.
    quiet_until = limited.time + fault.delay + 2
    later = after(sim, limited)
    assert "/auth" in {r.route for r in later}
    early = [(r.route, round(r.time - limited.time, 3)) for r in later if r.time < quiet_until]
    assert early == []
    assert value(svc, "neon_api_key_valid", key="prod") == 1


async def test_a_day_long_retry_after_pauses_the_key_for_the_cap_only(
    sim: Simulator, sim_url: str, service_for: Build
) -> None:
    """Retry-After: 86400 (a proxy's day) pauses the key for MAX_PAUSE, not a day: on virtual
    time the next poll gets through once the cap has passed; the cap is logged and counted."""
    svc = service_for(sim_url)
    time = VirtualTime()
    async with svc.pollers() as poller:
        on_virtual_time(poller, time)
        sim.inject(Fault(status=429, route="/projects", retry_after="86400", times=1))
        with structlog.testing.capture_logs() as logs:
            assert not await poller.poll("prod")
        paused_at = time.now
        assert await poller.poll("prod")
    assert MAX_PAUSE - 1 <= time.now - paused_at <= MAX_PAUSE + 1
    assert MAX_PAUSE <= 15 * 60
    (capped,) = [e for e in logs if e["event"] == "Retry-After capped"]
    assert (capped["asked_seconds"], capped["paused_seconds"]) == (86400, MAX_PAUSE)
    text = b"".join(await svc.exposition.chunks(openmetrics=False, gzipped=False)).decode()
    assert sample(text, "neon_exporter_api_retry_after_capped_total", {"key": "prod"}) == 1
