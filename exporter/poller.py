"""Polling: one poll of one key into a snapshot, the key probe, and their APScheduler jobs."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from types import MappingProxyType
from typing import TypeVar

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .neon.client import CONSUMPTION_BATCH, PAGE_LIMIT, NeonClient
from .neon.errors import KeyRejected, NeonError
from .neon.models import Endpoint, Project, derive_state
from .state import DETAIL_KINDS, KeySnapshot, State

log = structlog.get_logger("exporter.poller")
T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class Details:
    """Which per-project detail a poll fetches, and how often usage is due."""

    endpoints: bool = True
    branches: bool = False
    usage: bool = False
    usage_interval: float = 900.0


@dataclass(slots=True)
class _Work:
    """What one poll refreshes, most urgent first: consumption batches (100 projects a
    request), then per-project items (new projects, then changed, then oldest detail)."""

    batches: list[list[str]]
    items: list[tuple[str, tuple[str, ...]]]  # (project id, kinds)
    urgent: int = 0  # the first ``urgent`` items are new or changed projects


def _plan(
    projects: Mapping[str, Project],
    previous: KeySnapshot | None,
    details: Details,
    *,
    now: float,
    consumption: bool,
    skip: set[str],
) -> _Work:
    fetched = previous.fetched if previous is not None else {}
    stamps = previous.stamps if previous is not None else {}
    old_eps = previous.endpoints if previous is not None else {}
    rotating = tuple(k for k in ("endpoints", "branches") if getattr(details, k))
    usage_at = fetched.get("usage", {})

    def usage_due(pid: str) -> bool:
        t = usage_at.get(pid)
        return t is None or now - t >= details.usage_interval

    batches: list[list[str]] = []
    due_usage: set[str] = set()
    if details.usage:
        due = sorted(
            (pid for pid in projects if pid not in skip and usage_due(pid)),
            key=lambda pid: usage_at.get(pid, -1.0),
        )
        if consumption:
            batches = [
                due[i : i + CONSUMPTION_BATCH] for i in range(0, len(due), CONSUMPTION_BATCH)
            ]
        else:
            due_usage = set(due)
    ranked: list[tuple[int, float, str, tuple[str, ...]]] = []
    for pid, p in projects.items():
        if pid in skip:
            continue
        kinds = rotating + (("usage",) if pid in due_usage else ())
        if not kinds:
            continue
        times = [fetched.get(k, {}).get(pid) for k in rotating] or [usage_at.get(pid)]
        if any(t is None for t in times):
            rank = 0  # new: nothing known yet
        elif _changed(p, stamps.get(pid), old_eps.get(pid)):
            rank = 1
        else:
            rank = 2
        oldest = min((t for t in times if t is not None), default=-1.0)
        ranked.append((rank, oldest, pid, kinds))
    ranked.sort()
    urgent = sum(1 for rank, *_ in ranked if rank < 2)
    return _Work(batches, [(pid, kinds) for _, _, pid, kinds in ranked], urgent)


def _changed(
    p: Project, stamp: tuple[str, str] | None, endpoints: tuple[Endpoint, ...] | None
) -> bool:
    """Whether the list entry moved since the project's detail was fetched.

    ``compute_last_active_at`` moves all the time while a compute runs; for a project already
    known to be active that is no news, so it only counts for projects not known active.
    """
    if stamp is None:
        return True
    if stamp[0] != p.updated_at:
        return True
    known_active = endpoints is not None and derive_state(endpoints) == "active"
    return stamp[1] != p.compute_last_active_at and not known_active


async def fetch_snapshot(
    client: NeonClient,
    *,
    previous: KeySnapshot | None,
    details: Details,
    clock: Callable[[], float] = time.time,
    until: float | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    publish: Callable[[KeySnapshot], None] | None = None,
    list_projects: bool = True,
) -> KeySnapshot:
    """Poll one key once. Raises :class:`NeonError` when the poll as a whole failed.

    ``list_projects=False`` skips the project list and rotates detail over the previous poll's
    projects (see :func:`list_interval`).

    ``publish`` is handed a snapshot as soon as new and changed projects have been fetched, when
    the poll still has others to rotate through: a change is served a budget slot after the
    list showed it, not at the end of a poll that may last the whole interval.

    The project list is fetched whole. Per-project detail is refreshed most urgent first
    (see :class:`_Work`) and, with ``until`` (a ``time.monotonic()`` deadline), only as much
    of it as the key's request budget allows by then; the rest is carried over from
    ``previous``. Without ``until`` every detail is fetched (the ``once`` command).
    ``monotonic`` is the clock ``until`` is read on (tests pass the budget's virtual clock).

    Projects listed in ``unavailable_project_ids`` (Neon could not load them in time) keep their
    previous data: a partial page never makes a project vanish.
    """
    projects: dict[str, Project] = {}
    unavailable: set[str] = set()
    if list_projects or previous is None or client.version != "v2":
        async for page in client.project_pages():
            for project in page.projects:
                projects[project.id] = project
            unavailable.update(page.unavailable_project_ids)
    else:
        projects = dict(previous.projects)  # a rotation-only poll (see list_interval)
    kept: set[str] = set()
    if previous is not None:
        for pid in unavailable - projects.keys():
            if pid in previous.projects:
                projects[pid] = previous.projects[pid]
                kept.add(pid)
    if client.version != "v2":
        return KeySnapshot(
            key=client.key.name,
            taken_at=clock(),
            projects=MappingProxyType(projects),
            endpoints=MappingProxyType({}),
        )

    # Start from what the previous poll knew about the projects still listed.
    def carried(source: Mapping[str, T]) -> dict[str, T]:
        return {pid: v for pid, v in source.items() if pid in projects}

    prev = previous
    eps = carried(prev.endpoints) if prev and details.endpoints else {}
    brs = carried(prev.branches) if prev and details.branches else {}
    usg = carried(prev.usage) if prev and details.usage else {}
    fetched: dict[str, dict[str, float]] = {
        k: carried(prev.fetched.get(k, {})) if prev else {}
        for k in DETAIL_KINDS
        if getattr(details, k)
    }
    stamps = carried(prev.stamps) if prev else {}
    denied_at = prev.consumption_denied_at if prev else None
    now = clock()
    consumption = details.usage and (denied_at is None or now - denied_at >= details.usage_interval)
    work = _plan(projects, prev, details, now=now, consumption=consumption, skip=kept)
    gone: set[str] = set()
    rate = client.budget_per_minute / 60.0
    pending = 0  # requests of items started and not finished: they queue on the budget first

    def affordable(cost: int) -> bool:
        """Whether ``cost`` more requests, behind those already queued, end by ``until``."""
        if until is None:
            return True
        return monotonic() + (pending + cost - client.tokens()) / rate <= until

    async def batch(ids: list[str]) -> str:
        """One consumption request: "ok", "denied" (403: not on this plan) or "late"."""
        nonlocal pending
        if not affordable(1):
            return "late"
        pending += 1
        try:
            # The billing period is a matter of real time, not of the (injectable) snapshot clock.
            answer = await client.consumption(ids, now=datetime.now(UTC))
        finally:
            pending -= 1
        if answer is None:
            return "denied"
        at = clock()
        for pid in ids:
            usage = answer.get(pid)
            if usage is None:
                usg.pop(pid, None)  # not reported: absent, never 0
            else:
                usg[pid] = usage
            fetched["usage"][pid] = at
        return "ok"

    if work.batches:
        # The first batch finds out whether the plan includes consumption history at all.
        first = await batch(work.batches[0])
        if first == "ok":
            denied_at = None
            await _map_bounded(batch, work.batches[1:], client.max_concurrency)
        elif first == "denied":
            log.info(
                "consumption history not on this plan: usage from GET /projects/{id}",
                key=client.key.name,
            )
            denied_at = clock()
            work = _plan(projects, prev, details, now=now, consumption=False, skip=kept)

    async def item(entry: tuple[str, tuple[str, ...]]) -> None:
        nonlocal pending
        pid, kinds = entry
        if pid in gone or not affordable(len(kinds)):
            return
        pending += len(kinds)
        done = 0
        try:
            for kind in kinds:
                result: object
                if kind == "endpoints":
                    result = got_eps = await client.endpoints(pid)
                    if got_eps is not None:
                        eps[pid] = got_eps
                elif kind == "branches":
                    result = got_brs = await client.branches(pid)
                    if got_brs is not None:
                        brs[pid] = got_brs
                else:
                    result = got_usage = await client.project_usage(pid)
                    if got_usage is not None:
                        usg[pid] = got_usage
                done += 1
                if result is None:  # deleted between the list and this request
                    gone.add(pid)
                    return
                fetched[kind][pid] = clock()
        finally:
            pending -= len(kinds)
        p = projects[pid]
        stamps[pid] = (p.updated_at, p.compute_last_active_at)

    def snapshot() -> KeySnapshot:
        # Copies: the poll goes on filling these dicts after an early publish.
        for pid in gone:
            projects.pop(pid, None)
            for m in (eps, brs, usg, stamps, *fetched.values()):
                m.pop(pid, None)  # type: ignore[attr-defined]
        return KeySnapshot(
            key=client.key.name,
            taken_at=clock(),
            projects=MappingProxyType(dict(projects)),
            endpoints=MappingProxyType(dict(eps)),
            branches=MappingProxyType(dict(brs)),
            usage=MappingProxyType(dict(usg)),
            fetched=MappingProxyType({k: MappingProxyType(dict(v)) for k, v in fetched.items()}),
            stamps=MappingProxyType(dict(stamps)),
            consumption_denied_at=denied_at,
        )

    urgent, rest = work.items[: work.urgent], work.items[work.urgent :]
    await _map_bounded(item, urgent, client.max_concurrency)
    if publish is not None and urgent and rest:
        publish(snapshot())
    await _map_bounded(item, rest, client.max_concurrency)
    return snapshot()


async def _map_bounded(fn: Callable[[U], Awaitable[T]], items: Sequence[U], limit: int) -> list[T]:
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


LIST_SHARE = 0.1  # of a key's budget the project list may take before it is fetched less often


def list_interval(projects: int, budget_per_minute: float) -> float:
    """Seconds between fetches of the project list, so its pages take at most LIST_SHARE.

    The list is what shows new and changed projects, so it is fetched every poll while it is
    cheap: at 1,000 projects and 300 requests a minute every 6 s, so every poll. At 10,000
    projects and 120 a minute its 25 pages a poll would be a fifth of the budget and hold full
    freshness well above the floor; then polls in between rotate detail only.
    """
    pages = max(1, math.ceil(projects / PAGE_LIMIT))
    return pages * 60.0 / (LIST_SHARE * budget_per_minute)


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
        details: Details,
        clock: Callable[[], float] = time.time,
        deadline: float | None = None,
        slice_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``deadline``: seconds one poll may take (see :func:`poll_deadline`); None = none.

        ``slice_seconds``: how long a poll spends refreshing per-project detail before it
        carries the rest over; None refreshes all of it every poll (``once``). ``schedule``
        sets it from the poll interval, so each poll ends before the next one is due.

        ``monotonic``: the clock of slices, list cadence and poll durations; tests pass the
        virtual clock their token buckets run on.
        """
        self.clients = clients
        self.state = state
        self.details = details
        self.clock = clock
        self.deadline = deadline
        self.slice_seconds = slice_seconds
        self.monotonic = monotonic
        self._listed_at: dict[str, float] = {}  # time.monotonic() of each key's last list
        for key, client in clients.items():
            state.set_budget(key, client.budget_per_minute)

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
        started = self.monotonic()
        previous = self.state.snapshot(key)
        last_listed = self._listed_at.get(key)
        list_due = (
            previous is None
            or last_listed is None
            or self.slice_seconds is None
            or started - last_listed
            >= list_interval(len(previous.projects), client.budget_per_minute) - 1.0
        )
        snapshot: KeySnapshot | None = None
        try:
            # The client turns every request timeout into ApiTimeout, so a TimeoutError that
            # gets here can only be this deadline.
            async with asyncio.timeout(self.deadline):
                snapshot = await fetch_snapshot(
                    client,
                    previous=previous,
                    details=self.details,
                    clock=self.clock,
                    until=None if self.slice_seconds is None else started + self.slice_seconds,
                    monotonic=self.monotonic,
                    publish=partial(self.state.publish, key),
                    list_projects=list_due,
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
        duration = self.monotonic() - started
        if snapshot is not None:
            if list_due:
                self._listed_at[key] = started
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
        """One poll job and one key-check job per key, both first run at start-up.

        A poll refreshes detail for at most ``poll_interval`` less the poll job's jitter and a
        margin, so it is done before its next run is due: a run still going then would make
        APScheduler skip that run and leave the budget idle for a whole interval.
        """
        poll_jitter = min(1.0, poll_interval / 20)
        self.slice_seconds = max(
            poll_interval / 2, poll_interval - poll_jitter - max(0.5, poll_interval / 50)
        )
        now = datetime.now().astimezone()
        for i, key in enumerate(self.clients):
            # Stagger keys a little so several keys do not hit Neon in the same instant.
            first = now + timedelta(seconds=0.2 * i)
            for job, interval, jitter in (
                (self.poll, poll_interval, poll_jitter),
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
