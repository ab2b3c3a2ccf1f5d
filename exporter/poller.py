"""Polling: one poll of one key into a snapshot, the key probe, and their APScheduler jobs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TypeVar

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .neon.client import NeonClient
from .neon.errors import KeyRejected, NeonError
from .neon.models import Endpoint, Project
from .state import KeySnapshot, State

log = structlog.get_logger("exporter.poller")
T = TypeVar("T")


async def fetch_snapshot(
    client: NeonClient,
    *,
    previous: KeySnapshot | None,
    endpoints: bool,
    clock: Callable[[], float] = time.time,
) -> KeySnapshot:
    """Poll one key once. Raises :class:`NeonError` when the poll as a whole failed.

    Projects listed in ``unavailable_project_ids`` (Neon could not load them in time) keep their
    previous data: a partial page never makes a project vanish.
    """
    projects: dict[str, Project] = {}
    unavailable: set[str] = set()
    async for page in client.project_pages():
        for project in page.projects:
            projects[project.id] = project
        unavailable.update(page.unavailable_project_ids)
    eps: dict[str, tuple[Endpoint, ...]] = {}
    if previous is not None:
        for pid in unavailable - projects.keys():
            if pid in previous.projects:
                projects[pid] = previous.projects[pid]
                if pid in previous.endpoints:
                    eps[pid] = previous.endpoints[pid]
    if endpoints and client.version == "v2":
        fresh = [pid for pid in projects if pid not in eps]
        results = await _map_bounded(client.endpoints, fresh, client.max_concurrency)
        for pid, result in zip(fresh, results, strict=True):
            if result is None:  # deleted between the list and this request
                del projects[pid]
            else:
                eps[pid] = result
    return KeySnapshot(
        key=client.key.name,
        taken_at=clock(),
        projects=MappingProxyType(projects),
        endpoints=MappingProxyType(eps),
    )


async def _map_bounded(
    fn: Callable[[str], Awaitable[T]], items: Sequence[str], limit: int
) -> list[T]:
    """``fn`` over ``items``, at most ``limit`` at a time, results in order.

    A few workers rather than one task per item: at 10,000 projects that is 10,000 fewer tasks
    and coroutines alive at once. The first failure cancels the rest, so a failed poll stops
    spending the key's request budget at once.
    """
    results: dict[int, T] = {}
    pending = iter(enumerate(items))

    async def worker() -> None:
        for i, item in pending:
            results[i] = await fn(item)

    workers = [asyncio.ensure_future(worker()) for _ in range(min(limit, len(items)))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return [results[i] for i in range(len(items))]


def poll_deadline(*, poll_interval: float, poll_max_age: float) -> float:
    """How long one poll of one key may take in all, retries and ``Retry-After`` waits included.

    Each request has its own timeout, but a poll is many requests, each retried, so a slow or
    stalling upstream could keep a poll running for hours while ``poll_success`` still said 1.
    The deadline makes such a poll fail while the last good data is still served (it ends
    ``poll_interval`` before that data is ``poll_max_age`` old), yet leaves room for any poll the
    configuration can serve: one slower than this would see its data expire between polls anyway.
    """
    return max(poll_interval, poll_max_age - poll_interval)


class Poller:
    """Runs the poll and key-check of every key and records the outcome in :class:`State`."""

    def __init__(
        self,
        *,
        clients: Mapping[str, NeonClient],
        state: State,
        endpoints: bool,
        clock: Callable[[], float] = time.time,
        deadline: float | None = None,
    ) -> None:
        """``deadline``: seconds one poll may take (see :func:`poll_deadline`); None = none."""
        self.clients = clients
        self.state = state
        self.endpoints = endpoints
        self.clock = clock
        self.deadline = deadline

    def _key_answer(self, key: str, *, valid: bool, route: str = "") -> None:
        if self.state.record_key_answer(key, valid=valid):
            if valid:
                log.info("api key accepted", key=key)
            else:
                log.error(
                    "api key rejected by Neon (HTTP 401): invalid or revoked", key=key, route=route
                )

    async def poll(self, key: str) -> bool:
        """Poll ``key`` once; True on success. Never raises for anything Neon does."""
        client = self.clients[key]
        started = time.monotonic()
        snapshot: KeySnapshot | None = None
        try:
            # The client turns every request timeout into ApiTimeout, so a TimeoutError that
            # gets here can only be this deadline.
            async with asyncio.timeout(self.deadline):
                snapshot = await fetch_snapshot(
                    client,
                    previous=self.state.snapshot(key),
                    endpoints=self.endpoints,
                    clock=self.clock,
                )
        except KeyRejected as exc:
            self._key_answer(key, valid=False, route=exc.route)
            log.warning("poll failed", key=key, error=str(exc))
        except NeonError as exc:
            log.warning("poll failed", key=key, error=str(exc))
        except TimeoutError:
            log.warning(
                "poll failed",
                key=key,
                error=f"poll deadline of {self.deadline:g}s exceeded (Neon is slow or stalling; "
                "the deadline is poll.max-age minus poll.interval)",
            )
        except Exception:
            # A bug, not Neon: keep serving, but say so loudly with the traceback.
            log.exception("poll failed unexpectedly", key=key)
        duration = time.monotonic() - started
        if snapshot is not None:
            self._key_answer(key, valid=True)
            log.info(
                "poll done", key=key, projects=len(snapshot.projects), seconds=round(duration, 3)
            )
        self.state.record_poll(key, snapshot, duration)
        for dropped in self.state.expire():
            log.warning("data older than poll.max-age dropped", key=dropped)
        return snapshot is not None

    async def check_key(self, key: str) -> None:
        """The cheap probe between polls. Only a 401 marks the key invalid."""
        try:
            await self.clients[key].probe()
        except KeyRejected as exc:
            self._key_answer(key, valid=False, route=exc.route)
        except NeonError as exc:
            log.info("key check inconclusive", key=key, error=str(exc))
        except Exception:
            log.exception("key check failed unexpectedly", key=key)
        else:
            self._key_answer(key, valid=True)

    async def poll_all(self) -> bool:
        """Poll every key once, concurrently (the ``once`` command). True if all succeeded."""
        results = await asyncio.gather(*(self.poll(k) for k in self.clients))
        return all(results)

    def schedule(
        self, scheduler: AsyncIOScheduler, *, poll_interval: float, key_check_interval: float
    ) -> None:
        """One poll job and one key-check job per key, both first run at start-up."""
        now = datetime.now().astimezone()
        for i, key in enumerate(self.clients):
            # Stagger keys a little so several keys do not hit Neon in the same instant.
            first = now + timedelta(seconds=0.2 * i)
            for job, interval, jitter in (
                (self.poll, poll_interval, min(5.0, poll_interval / 10)),
                (self.check_key, key_check_interval, min(2.0, key_check_interval / 10)),
            ):
                scheduler.add_job(
                    _until_cancelled,
                    "interval",
                    args=[job, key],
                    seconds=interval,
                    id=f"{job.__name__}:{key}",
                    name=f"{job.__name__}:{key}",
                    next_run_time=first,
                    jitter=jitter,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=max(1, int(interval)),
                )


async def _until_cancelled(job: Callable[[str], Awaitable[object]], key: str) -> None:
    """Run a scheduled job; a job cancelled at shutdown or reload ends quietly.

    APScheduler cancels running jobs on ``shutdown(wait=False)`` and would log the
    CancelledError as a failed job, with a traceback, on every clean exit.
    """
    try:
        await job(key)
    except asyncio.CancelledError:
        log.debug("job cancelled", job=getattr(job, "__name__", "?"), key=key)
