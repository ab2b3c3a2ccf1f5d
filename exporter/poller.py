"""One poll of one key, in phases: list, plan, refresh, publish; and the key probe.

The project list is fetched whole (its failure fails the poll). Per-project detail of each area
on is refreshed most urgent first (see :mod:`exporter.plan`) and, with ``until`` (a
``time.monotonic()`` deadline), only as much of it as the key's request budget allows by then;
the rest is carried over from the previous snapshot. Areas fail apart: a failed request keeps
that project's last detail of that area (see ``KeySnapshot.failed``) and never fails the poll.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

import structlog

from .areas import Area
from .neon.client import NeonClient
from .neon.errors import KeyRejected, NeonError
from .neon.models import Project
from .plan import EVERY_PROJECT, BatchKey, Memory, Plan, Selection, denial, list_interval, plan
from .state import AccountPiece, KeySnapshot, State

log = structlog.get_logger("exporter.poller")
T = TypeVar("T")
U = TypeVar("U")
Publish = Callable[[KeySnapshot], None]


async def list_projects(
    client: NeonClient, previous: KeySnapshot | None, selection: Selection = EVERY_PROJECT
) -> tuple[dict[str, Project], set[str], int]:
    """Phase 1: every page of the project list, but the projects ``selection`` leaves out.
    Projects in ``unavailable_project_ids`` (Neon could not load them in time) keep their
    previous entry: a partial page never makes a project vanish. Returns the projects, the
    ids so kept, and how many the selection left out."""
    projects: dict[str, Project] = {}
    unavailable: set[str] = set()
    left_out = 0
    async for page in client.project_pages():
        for project in page.projects:
            if project.deleted_at is not None:  # a deleted project never looks live
                continue
            if selection.keeps(project):
                projects[project.id] = project
            else:
                left_out += 1
        unavailable.update(page.unavailable_project_ids)
    kept = set()
    if previous is not None:
        for pid in unavailable - projects.keys():
            if pid in previous.projects:
                projects[pid] = previous.projects[pid]
                kept.add(pid)
    return projects, kept, left_out


async def poll_v1(
    client: NeonClient, previous: KeySnapshot | None, now: float, selection: Selection
) -> KeySnapshot:
    """The v1 API has the project list only: one request, no detail."""
    projects, _, left_out = await list_projects(client, previous, selection)
    return KeySnapshot(client.key_name, now, MappingProxyType(projects), left_out=left_out)


class Refresh:
    """Phase 3 of one poll: the detail dicts it fills, and the requests it may still afford.

    Starts from what the previous snapshot held for the projects still listed; ``snapshot()``
    copies, so it can publish early while the refresh goes on.
    """

    def __init__(
        self,
        client: NeonClient,
        *,
        projects: dict[str, Project],
        previous: KeySnapshot | None,
        memory: Memory,
        areas: Sequence[Area],
        clock: Callable[[], float],
        until: float | None,
        monotonic: Callable[[], float] = time.monotonic,
        left_out: int = 0,
    ) -> None:
        """``until`` is read on ``monotonic`` (tests pass their token buckets' virtual clock);
        ``left_out``: listed projects the selection left out, for the snapshot."""
        self.client, self.projects, self.clock, self.until = client, projects, clock, until
        self.monotonic, self.left_out = monotonic, left_out
        self.stamps = self._carried(memory.stamps)
        self.denied_at = dict(memory.denied_at)
        self.routes = dict(memory.routes)
        self.areas = {a.name: a for a in areas}

        def carried(source: Mapping[str, Mapping[str, T]], area: str) -> dict[str, T]:
            return self._carried(source.get(area, {}))

        prev_detail = previous.detail if previous else {}
        prev_fetched = previous.fetched if previous else {}
        prev_failed = previous.failed if previous else {}
        per_project = [a.name for a in areas if a.detail]
        self.detail: dict[str, dict[str, Any]] = {a: carried(prev_detail, a) for a in per_project}
        self.fetched = {a: carried(prev_fetched, a) for a in per_project}
        self.failed = {a: carried(prev_failed, a) for a in per_project}
        prev_account = previous.account if previous else {}
        self.account = {a.name: p for a in areas if (p := prev_account.get(a.name)) is not None}
        self.errors: dict[str, str] = {}  # area -> its first error in this poll
        self.gone: set[str] = set()  # deleted between the list and their detail request
        self.pending = 0  # requests started and not finished: they queue on the budget first

    def _carried(self, source: Mapping[str, T]) -> dict[str, T]:
        return {pid: v for pid, v in source.items() if pid in self.projects}

    def affordable(self, cost: int) -> bool:
        """Whether ``cost`` more requests, behind those already queued, end by ``until``."""
        if self.until is None:
            return True
        rate = self.client.budget_per_minute / 60.0
        wait = (self.pending + cost - self.client.tokens()) / rate
        return self.monotonic() + wait <= self.until

    def area_failed(self, area: str, pids: Sequence[str], error: str) -> None:
        """A request of ``area`` failed: those projects keep their last data; the poll goes on."""
        self.errors.setdefault(area, error)
        at = self.clock()
        for pid in pids:
            self.failed[area].setdefault(pid, at)

    def got(self, area: str, pid: str, value: object | None) -> None:
        if value is None:
            self.detail[area].pop(pid, None)  # not reported: absent, never 0
        else:
            self.detail[area][pid] = value
        self.fetched[area][pid] = self.clock()
        self.failed[area].pop(pid, None)

    async def account_area(self, name: str) -> None:
        """One account-level area: its data for this key, or its failure (last data kept)."""
        fetch = self.areas[name].fetch_account
        assert fetch is not None
        if not self.affordable(1):
            return
        self.pending += 1
        try:
            value = await fetch(self.client)
        except KeyRejected:
            raise
        except NeonError as exc:
            self.errors.setdefault(name, str(exc))
            old = self.account.get(name) or AccountPiece(None, -math.inf)
            if old.failing_since is None:
                self.account[name] = replace(old, failing_since=self.clock())
            return
        finally:
            self.pending -= 1
        self.account[name] = AccountPiece(value, self.clock())

    async def batches(self, work: Plan, replan: Callable[[dict[str, float]], Plan]) -> Plan:
        """The batched requests due (many projects each). The first batch of a route and
        organization finds out whether its plan offers the route at all; denied (403), the poll
        is planned again with that route denied to that organization, so its projects go to the
        area's next route (or per project), and so on. Returns the plan the rest follows."""
        done: set[BatchKey] = set()
        while True:
            denied = False
            for key, due in work.batches.items():
                if key in done or not due:
                    continue
                done.add(key)
                first = await self.batch(key, due[0])
                if first == "ok":
                    self._answered(key)
                    rest = [(key, ids) for ids in due[1:]]
                    await map_bounded(lambda b: self.batch(*b), rest, self.client.max_concurrency)
                elif first == "denied":
                    log.info(
                        f"{key.route} not on this plan: {key.area} from the next route",
                        key=self.client.key_name,
                        org_id=key.org,
                    )
                    self.denied_at[denial(key.route, key.org)] = self.clock()
                    denied = True
                    break
                elif first == "failed":
                    # The route is broken for this key (e.g. 404 "not a member of org_id", 406
                    # "range not valid"): the other batches would fail alike, so they are not
                    # sent, but their projects count as failing too, so their data ages out.
                    for ids in due[1:]:
                        self.area_failed(key.area, ids, self.errors[key.area])
            if not denied:
                return work
            work = replan(self.denied_at)

    def _answered(self, key: BatchKey) -> None:
        """The route answered: it is the one that works for that organization (until a better
        one, tried again after the area's interval, answers too)."""
        self.denied_at.pop(denial(key.route, key.org), None)
        where = denial(key.area, key.org)
        if self.routes.get(where) != key.route:
            log.info(f"{key.area} from {key.route}", key=self.client.key_name, org_id=key.org)
            self.routes[where] = key.route

    async def batch(self, key: BatchKey, ids: list[str]) -> str:
        """One batched request: "ok", "denied" (403), "late" (over budget) or "failed"."""
        route = next(r for r in self.areas[key.area].batches if r.route == key.route)
        if not self.affordable(1):
            return "late"
        self.pending += 1
        try:
            # The billing period is a matter of real time, not of the injectable clock.
            answer = await route.fetch(self.client, key.org, ids, datetime.now(UTC))
        except KeyRejected:
            raise
        except NeonError as exc:
            self.area_failed(key.area, ids, str(exc))
            return "failed"
        finally:
            self.pending -= 1
        if answer is None:
            return "denied"
        for pid in ids:
            self.got(key.area, pid, answer.get(pid))
        return "ok"

    async def item(self, entry: tuple[str, tuple[str, ...]]) -> None:
        """One project's detail of the areas due for it, one request (or paged list) each."""
        pid, names = entry
        if pid in self.gone or not self.affordable(len(names)):
            return
        self.pending += len(names)
        try:
            for name in names:
                fetch = self.areas[name].fetch
                assert fetch is not None
                try:
                    value = await fetch(self.client, pid)
                except KeyRejected:
                    raise  # the key, not the area: the poll fails
                except NeonError as exc:
                    self.area_failed(name, (pid,), str(exc))
                    continue
                if value is None:  # deleted between the list and this request
                    self.gone.add(pid)
                    return
                self.got(name, pid, value)
        finally:
            self.pending -= len(names)
        p = self.projects[pid]
        self.stamps[pid] = (p.updated_at, p.compute_last_active_at)

    def snapshot(self) -> KeySnapshot:
        """Phase 4: what is served. Copies, since the refresh may go on after an early publish."""
        for pid in self.gone:
            self.projects.pop(pid, None)
            self.stamps.pop(pid, None)
            for maps in (self.detail, self.fetched, self.failed):
                for m in maps.values():
                    m.pop(pid, None)

        def frozen(maps: Mapping[str, Mapping[str, T]]) -> Mapping[str, Mapping[str, T]]:
            return MappingProxyType({a: MappingProxyType(dict(m)) for a, m in maps.items()})

        return KeySnapshot(
            key=self.client.key_name,
            taken_at=self.clock(),
            projects=MappingProxyType(dict(self.projects)),
            detail=frozen(self.detail),
            fetched=frozen(self.fetched),
            failed=frozen(self.failed),
            errors=MappingProxyType(dict(self.errors)),
            account=MappingProxyType(dict(self.account)),
            left_out=self.left_out,
        )


async def poll_v2(
    client: NeonClient,
    *,
    previous: KeySnapshot | None,
    memory: Memory,
    areas: Sequence[Area],
    intervals: Mapping[str, float],
    clock: Callable[[], float] = time.time,
    until: float | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    publish: Publish | None = None,
    list_due: bool = True,
    selection: Selection = EVERY_PROJECT,
) -> KeySnapshot:
    """Poll one key once. Raises :class:`NeonError` when the poll as a whole failed.

    ``list_due=False`` skips the project list and rotates detail over the previous poll's
    projects (see :func:`exporter.plan.list_interval`). ``publish`` is handed a snapshot as soon
    as new and changed projects have been fetched, when the poll still has others to rotate
    through: a change is served a budget slot after the list showed it. Without ``until`` every
    detail is fetched (the ``once`` command). ``memory`` is updated when the poll succeeds.
    """
    kept: set[str] = set()
    if list_due or previous is None:
        projects, kept, left_out = await list_projects(client, previous, selection)
    else:
        projects, left_out = dict(previous.projects), previous.left_out  # rotation only
    now = clock()
    work = plan(projects, previous, memory, areas, intervals, now=now, skip=kept)
    run = Refresh(
        client,
        projects=projects,
        previous=previous,
        memory=memory,
        areas=areas,
        clock=clock,
        until=until,
        monotonic=monotonic,
        left_out=left_out,
    )
    for name in work.account:
        await run.account_area(name)
    work = await run.batches(
        work,
        lambda denied_at: plan(
            projects,
            previous,
            Memory(stamps=memory.stamps, denied_at=denied_at, routes=run.routes),
            areas,
            intervals,
            now=now,
            skip=kept,
        ),
    )
    urgent, rest = work.items[: work.urgent], work.items[work.urgent :]
    await map_bounded(run.item, urgent, client.max_concurrency)
    if publish is not None and urgent and rest:
        publish(run.snapshot())
    await map_bounded(run.item, rest, client.max_concurrency)
    snapshot = run.snapshot()
    memory.stamps, memory.denied_at, memory.routes = run.stamps, run.denied_at, run.routes
    return snapshot


async def map_bounded(fn: Callable[[U], Awaitable[T]], items: Sequence[U], limit: int) -> list[T]:
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


class KeyPoller:
    """Polls one key and probes it, recording the outcome in :class:`State`."""

    def __init__(
        self,
        client: NeonClient,
        state: State,
        *,
        areas: Sequence[Area],
        intervals: Mapping[str, float],
        memory: Memory | None = None,
        selection: Selection = EVERY_PROJECT,
        key_file_read_at: Callable[[], float | None] | None = None,
        clock: Callable[[], float] = time.time,
        deadline: float | None = None,
        slice_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``areas``: the detail areas on; ``intervals``: refresh interval of those refreshed
        on their own clock. ``monotonic``: the clock of slices, list cadence and poll durations
        (tests pass the virtual clock their token buckets run on). ``deadline``: seconds one
        poll may take (see :func:`exporter.plan.poll_deadline`); None = none.
        ``slice_seconds``: how long a poll spends refreshing detail before it carries the rest
        over; None refreshes all of it every poll (``once``)."""
        self.client, self.state = client, state
        self.key_file_read_at = key_file_read_at or (lambda: None)
        self.key = client.key_name
        self.areas, self.intervals = tuple(areas), dict(intervals)
        self.clock, self.deadline, self.slice_seconds = clock, deadline, slice_seconds
        self.monotonic = monotonic
        self.memory = Memory() if memory is None else memory
        self.selection = selection
        state.set_budget(self.key, client.budget_per_minute)

    def _key_answer(self, *, valid: bool, route: str = "") -> None:
        if self.state.record_key_answer(self.key, valid=valid):
            if valid:
                log.info("api key accepted", key=self.key)
            else:
                log.error(
                    "api key rejected by Neon (HTTP 401): invalid or revoked",
                    key=self.key,
                    route=route,
                )

    def _list_due(self, previous: KeySnapshot | None, started: float) -> bool:
        last = self.memory.listed_at
        if previous is None or last is None or self.slice_seconds is None:
            return True
        due_every = list_interval(len(previous.projects), self.client.budget_per_minute)
        return started - last >= due_every - 1.0

    async def _fetch(self, previous: KeySnapshot | None, started: float) -> KeySnapshot:
        if self.client.version != "v2":
            return await poll_v1(self.client, previous, self.clock(), self.selection)
        list_due = self._list_due(previous, started)
        snapshot = await poll_v2(
            self.client,
            previous=previous,
            memory=self.memory,
            areas=self.areas,
            intervals=self.intervals,
            clock=self.clock,
            until=None if self.slice_seconds is None else started + self.slice_seconds,
            monotonic=self.monotonic,
            publish=lambda snap: self.state.publish(self.key, snap),
            list_due=list_due,
            selection=self.selection,
        )
        if list_due:
            self.memory.listed_at = started
        return snapshot

    async def poll(self) -> bool:
        """Poll once; True on success. Never raises for anything Neon does."""
        started = self.monotonic()
        previous = self.state.snapshot(self.key)
        snapshot: KeySnapshot | None = None
        error: str | None = None
        try:
            # The client turns every request timeout into ApiTimeout, so a TimeoutError that
            # gets here can only be this deadline.
            async with asyncio.timeout(self.deadline):
                snapshot = await self._fetch(previous, started)
        except KeyRejected as exc:
            self._key_answer(valid=False, route=exc.route)
            error = str(exc)
        except NeonError as exc:
            error = str(exc)
        except TimeoutError:
            error = (
                f"poll deadline of {self.deadline:g}s exceeded (Neon is slow or stalling; "
                "the deadline is poll.max-age minus poll.interval)"
            )
        except Exception as exc:
            # A bug, not Neon: keep serving, but say so loudly with the traceback.
            log.exception("poll failed unexpectedly", key=self.key)
            error = f"unexpected {type(exc).__name__} (see the log)"
        duration = self.monotonic() - started
        if snapshot is None:
            log.warning("poll failed", key=self.key, error=error)
        else:
            for area, area_error in snapshot.errors.items():
                log.warning(
                    "collector failed, keeping its last data",
                    key=self.key,
                    collector=area,
                    error=area_error,
                )
            self._key_answer(valid=True)
            log.info(
                "poll done",
                key=self.key,
                projects=len(snapshot.projects),
                seconds=round(duration, 3),
            )
        self.state.record_poll(self.key, snapshot, duration, error=error)
        # The api_keys area may have asked /auth before the first key check did.
        self.state.record_key_source(
            self.key, auth=self.client.auth, file_read_at=self.key_file_read_at()
        )
        for dropped in self.state.expire():
            log.warning("data older than poll.max-age dropped", key=dropped)
        return snapshot is not None

    async def check_key(self) -> None:
        """The cheap probe between polls. Only a 401 marks the key invalid. Its answer (v2:
        what kind of key, whose) is recorded, at no extra request."""
        try:
            # A long Retry-After pauses the probe too; past the poll deadline it gives up.
            async with asyncio.timeout(self.deadline):
                auth = await self.client.probe()
        except TimeoutError:
            log.info("key check inconclusive", key=self.key, error="waited past the poll deadline")
        except KeyRejected as exc:
            self._key_answer(valid=False, route=exc.route)
        except NeonError as exc:
            log.info("key check inconclusive", key=self.key, error=str(exc))
        except Exception:
            log.exception("key check failed unexpectedly", key=self.key)
        else:
            self._key_answer(valid=True)
            self.state.record_key_source(self.key, auth=auth)
        finally:
            self.state.record_key_source(self.key, file_read_at=self.key_file_read_at())
