"""One poll of one key, in phases: list, plan, refresh, publish; and the key probe.

The project list is fetched whole (its failure fails the poll). Per-project detail of each area
on is refreshed most urgent first (see :mod:`exporter.poll.plan`) and, with ``until`` (a
``time.monotonic()`` deadline), only as much of it as the key's request budget allows by then;
the rest is carried over from the previous result. Areas fail apart: a failed request keeps
that project's last detail of that area (see ``PollResult.failed``) and never fails the poll.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import TypeVar

import structlog

from ..areas import Area
from ..neon.client import NeonClient
from ..neon.errors import KeyRejected, NeonError
from .bounded import map_bounded
from .listing import listed, poll_v1
from .plan import Memory, Plan, list_interval, overdue_seconds, plan
from .refresh import Refresh
from .selection import EVERY_PROJECT, Selection
from .state import PollResult, State

log = structlog.get_logger("exporter.poll.poller")
T = TypeVar("T")
U = TypeVar("U")
Publish = Callable[[PollResult], None]


async def poll_v2(
    client: NeonClient,
    *,
    previous: PollResult | None,
    memory: Memory,
    areas: Sequence[Area],
    intervals: Mapping[str, float],
    clock: Callable[[], float] = time.time,
    until: float | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    publish: Publish | None = None,
    list_due: bool = True,
    selection: Selection = EVERY_PROJECT,
    overdue_after: float | None = None,
) -> PollResult:
    """Poll one key once; :class:`NeonError` when the poll as a whole failed. ``list_due=False``
    rotates detail over the previous poll's projects (:func:`.plan.list_interval`); ``publish``
    gets a result once new and changed projects are fetched, when others remain; no ``until``:
    every detail (``once``); ``memory`` is updated on success; ``overdue_after``: see plan()."""
    start = monotonic()  # the list's span: neon_exporter_collector_duration_seconds
    projects, kept, left_out = await listed(client, previous, selection, list_due=list_due)
    list_span = (start, monotonic())
    planned = partial(
        plan, projects, previous, areas=areas, intervals=intervals, now=clock(), skip=kept
    )
    refresh = partial(Refresh, client, projects=projects, previous=previous, memory=memory)
    refresh = partial(refresh, areas=areas, clock=clock, until=until, monotonic=monotonic)
    work, run = await _prepared(
        partial(planned, memory, overdue_after=overdue_after),
        partial(refresh, left_out=left_out, selection=selection),
    )
    run.spans.update({"projects": list_span} if list_due or previous is None else {})
    for name in work.account:
        await run.account_area(name)

    def replan(denied_at: dict[str, float]) -> Plan:
        again = Memory(stamps=memory.stamps, denied_at=denied_at, routes=run.routes)
        return planned(again, overdue_after=overdue_after)

    await _rotate(run, await run.batches(work, replan), client.max_concurrency, publish)
    result = run.result()
    memory.stamps, memory.denied_at, memory.routes = run.stamps, run.denied_at, run.routes
    return result


async def _prepared(
    planning: Callable[[], Plan], refresh: Callable[[], Refresh]
) -> tuple[Plan, Refresh]:
    """The poll's plan and its refresh (the previous detail carried over), made in a thread.
    Both look at every project in one go, which at fleet sizes blocked the event loop longest
    of anything in a poll (bench/README.md); in a thread the loop still gets the GIL every
    switch interval (5 ms), so /healthz and scrapes are answered meanwhile. Nothing touches
    this key's poll data or memory until the poll is done."""
    return await asyncio.to_thread(lambda: (planning(), refresh()))


async def _rotate(run: Refresh, work: Plan, limit: int, publish: Publish | None) -> None:
    """Per-project detail, new and changed projects first; those published as soon as they are
    fetched, when the poll still has others to rotate through."""
    urgent, rest = work.items[: work.urgent], work.items[work.urgent :]
    await map_bounded(run.item, urgent, limit)
    if publish is not None and urgent and rest:
        publish(run.result())
    await map_bounded(run.item, rest, limit)


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
        poll may take (see :func:`exporter.poll.plan.poll_deadline`); None = none.
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

    def _list_due(self, previous: PollResult | None, started: float) -> bool:
        last = self.memory.listed_at
        if previous is None or last is None or self.slice_seconds is None:
            return True
        if self.memory.selection != self.selection:
            return True
        due_every = list_interval(len(previous.projects), self.client.budget_per_minute)
        return started - last >= due_every - 1.0

    async def _fetch(self, previous: PollResult | None, started: float) -> PollResult:
        if self.client.version != "v2":
            return await poll_v1(self.client, previous, self.clock(), self.selection)
        list_due = self._list_due(previous, started)
        result = await poll_v2(
            self.client,
            previous=previous,
            memory=self.memory,
            areas=self.areas,
            intervals=self.intervals,
            clock=self.clock,
            until=None if self.slice_seconds is None else started + self.slice_seconds,
            monotonic=self.monotonic,
            publish=lambda result: self.state.publish(self.key, result),
            list_due=list_due,
            selection=self.selection,
            overdue_after=self._overdue_after(previous),
        )
        if list_due:
            self.memory.listed_at, self.memory.selection = started, self.selection
        return result

    def _overdue_after(self, previous: PollResult | None) -> float | None:
        """When a project's detail goes before changed ones' (None: no bound; ``once``)."""
        if self.slice_seconds is None or previous is None:
            return None
        rotating = sum(1 for a in self.areas if a.detail and a.name not in self.intervals)
        budget = self.client.budget_per_minute
        return overdue_seconds(len(previous.projects), rotating, budget, self.slice_seconds)

    async def poll(self) -> bool:
        """Poll once; True on success. Never raises for anything Neon does."""
        started = self.monotonic()
        previous = self.state.result(self.key)
        result: PollResult | None = None
        error: str | None = None
        try:
            # The client turns every request timeout into ApiTimeout, so a TimeoutError that
            # gets here can only be this deadline.
            async with asyncio.timeout(self.deadline):
                result = await self._fetch(previous, started)
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
        self._log_outcome(result, error, duration)
        self.state.record_poll(self.key, result, duration, error=error)
        # The api_keys area may have asked /auth before the first key check did.
        self.state.record_key_source(
            self.key, auth=self.client.auth, file_read_at=self.key_file_read_at()
        )
        for dropped in self.state.expire():
            log.warning("data older than poll.max-age dropped", key=dropped)
        return result is not None

    def _log_outcome(self, result: PollResult | None, error: str | None, took: float) -> None:
        if result is None:
            log.warning("poll failed", key=self.key, error=error)
            return
        for area, area_error in result.errors.items():
            log.warning(
                "collector failed, keeping its last data",
                key=self.key,
                collector=area,
                error=area_error,
            )
        self._key_answer(valid=True)
        log.info("poll done", key=self.key, projects=len(result.projects), seconds=round(took, 3))

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
