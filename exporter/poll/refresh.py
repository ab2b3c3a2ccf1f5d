"""Phase 3 of a poll: refresh the detail of every area due, within the key's request budget.

Batched routes first (many projects a request), then account-level areas, then per-project
detail most urgent first. Each area fails apart: a failed request marks its projects failing
(their last detail is kept, see ``PollResult.failed``) and the refresh goes on.
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

import structlog

from ..areas import Area
from ..neon.client import NeonClient
from ..neon.errors import KeyRejected, NeonError, PartialAnswer
from ..neon.models import Project
from .bounded import map_bounded
from .costs import Costs
from .plan import BatchKey, Memory, Plan, denial
from .result import same
from .selection import EVERY_PROJECT, Selection
from .state import AccountPiece, PollResult

log = structlog.get_logger("exporter.poll.refresh")


class Batch(enum.Enum):
    """How one batched request went."""

    OK = "ok"
    DENIED = "denied"  # 403: the plan does not offer the route
    LATE = "late"  # not sent: over the poll's budget
    FAILED = "failed"  # any other error: the area fails for those projects


T = TypeVar("T")


class Refresh:
    """Phase 3 of one poll: the detail dicts it fills, and the requests it may still afford.

    Starts from what the previous result held for the projects still listed; ``result()``
    copies, so it can publish early while the refresh goes on.
    """

    def __init__(
        self,
        client: NeonClient,
        *,
        projects: dict[str, Project],
        previous: PollResult | None,
        memory: Memory,
        areas: Sequence[Area],
        clock: Callable[[], float],
        until: float | None,
        monotonic: Callable[[], float] = time.monotonic,
        left_out: int = 0,
        selection: Selection = EVERY_PROJECT,
    ) -> None:
        """``until`` is read on ``monotonic`` (tests pass their token buckets' virtual clock);
        ``left_out``: listed projects the selection left out, for the result; ``selection``
        also filters the account-level lists of projects (deleted, shared)."""
        self.client, self.projects, self.clock, self.until = client, projects, clock, until
        self.monotonic, self.left_out, self.selection = monotonic, left_out, selection
        self.stamps = self._carried(memory.stamps)
        self.denied_at, self.routes = dict(memory.denied_at), dict(memory.routes)
        self.areas = {a.name: a for a in areas}

        def carried(source: Mapping[str, Mapping[str, T]], area: str) -> dict[str, T]:
            return self._carried(source.get(area, {}))

        prev = previous or PollResult("", 0.0, MappingProxyType({}))
        per_project = [a.name for a in areas if a.detail]
        self.detail: dict[str, dict[str, Any]] = {a: carried(prev.detail, a) for a in per_project}
        self.fetched = {a: carried(prev.fetched, a) for a in per_project}
        self.failed = {a: carried(prev.failed, a) for a in per_project}
        prev_account = previous.account if previous else {}
        # Carried pieces are filtered again: a reload may have narrowed the selection.
        self.account = {
            a.name: replace(p, value=self._selected(a.name, p.value))
            for a in areas
            if (p := prev_account.get(a.name)) is not None
        }
        self.errors: dict[str, str] = {}  # area -> its first error in this poll
        # area -> (first request started, last answer) in this poll, on ``monotonic``
        self.spans: dict[str, tuple[float, float]] = {}
        self.gone: set[str] = set()  # deleted between the list and their detail request
        self.pending = 0  # requests started and not finished: they queue on the budget first
        self.costs, self._learning = Costs(self.areas, self.detail), asyncio.Lock()

    def _carried(self, source: Mapping[str, T]) -> dict[str, T]:
        return {pid: v for pid, v in source.items() if pid in self.projects}

    def affordable(self, cost: int) -> bool:
        """Whether ``cost`` more requests, behind those already queued, end by ``until``."""
        if self.until is None:
            return True
        rate = self.client.budget_per_minute / 60.0
        wait = (self.pending + cost - self.client.tokens()) / rate
        return self.monotonic() + wait <= self.until

    @contextmanager
    def spending(self, cost: int) -> Iterator[None]:
        """``cost`` requests in flight: later ones queue behind them on the budget."""
        self.pending += cost
        try:
            yield
        finally:
            self.pending -= cost

    @contextmanager
    def timed(self, area: str) -> Iterator[None]:
        """A request of ``area``: its span in this poll (first start to last end) covers it."""
        start = self.monotonic()
        try:
            yield
        finally:
            first, last = self.spans.get(area, (start, start))
            self.spans[area] = (min(first, start), max(last, self.monotonic()))

    def area_failed(self, area: str, pids: Sequence[str], error: str) -> None:
        """A request of ``area`` failed: those projects keep their last data; the poll goes on."""
        self.errors.setdefault(area, error)
        at = self.clock()
        for pid in pids:
            self.failed[area].setdefault(pid, at)

    def got(self, area: str, pid: str, value: object | None) -> None:
        detail = self.detail[area]
        if value is None:
            detail.pop(pid, None)  # not reported: absent, never 0
        else:
            detail[pid] = same(detail.get(pid), value)
        self.fetched[area][pid] = self.clock()
        self.failed[area].pop(pid, None)

    async def account_area(self, name: str) -> None:
        """One account-level area: its data for this key, or its failure (last data kept)."""
        fetch = self.areas[name].fetch_account
        assert fetch is not None
        if not self.affordable(1):
            return
        try:
            with self.spending(1), self.timed(name):
                value = await fetch(self.client)
        except KeyRejected:
            raise
        except PartialAnswer as exc:  # what it got is served; the area still counts as failing
            self.errors.setdefault(name, str(exc))
            old_piece = self.account.get(name)
            since = old_piece.failing_since if old_piece is not None else None
            value = self._selected(name, exc.value)
            at = self.clock()
            self.account[name] = AccountPiece(value, at, since if since is not None else at)
            return
        except NeonError as exc:
            self.errors.setdefault(name, str(exc))
            old = self.account.get(name) or AccountPiece(None, -math.inf)
            if old.failing_since is None:
                self.account[name] = replace(old, failing_since=self.clock())
            return
        self.account[name] = AccountPiece(self._selected(name, value), self.clock())

    def _selected(self, name: str, value: object) -> object:
        """An account-level list of projects, but those the selection leaves out."""
        if not self.areas[name].lists_projects or not isinstance(value, tuple):
            return value
        return tuple(p for p in value if self.selection.keeps(p))

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
                if first is Batch.OK:
                    self._answered(key)
                    rest = [(key, ids) for ids in due[1:]]
                    await map_bounded(lambda b: self.batch(*b), rest, self.client.max_concurrency)
                elif first is Batch.DENIED:
                    log.info(
                        f"{key.route} not on this plan: {key.area} from the next route",
                        key=self.client.key_name,
                        org_id=key.org,
                    )
                    self.denied_at[denial(key.route, key.org)] = self.clock()
                    denied = True
                    break
                elif first is Batch.FAILED:
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

    async def batch(self, key: BatchKey, ids: list[str]) -> Batch:
        """One batched request, and how it went."""
        route = next(r for r in self.areas[key.area].batches if r.route == key.route)
        if not self.affordable(1):
            return Batch.LATE
        try:
            with self.spending(1), self.timed(key.area):
                # The billing period is a matter of real time, not of the injectable clock.
                answer = await route.fetch(self.client, key.org, ids, datetime.now(UTC))
        except KeyRejected:
            raise
        except NeonError as exc:
            self.area_failed(key.area, ids, str(exc))
            return Batch.FAILED
        if answer is None:
            return Batch.DENIED
        for pid in ids:
            self.got(key.area, pid, answer.get(pid))
        return Batch.OK

    async def item(self, entry: tuple[str, tuple[str, ...]]) -> None:
        """One project's detail of the areas due for it, charged what it will cost."""
        if any(self.costs.unknown(name) for name in entry[1]):
            async with self._learning:  # one at a time until an answer says what it costs
                await self._item(*entry)
        else:
            await self._item(*entry)

    async def _item(self, pid: str, names: tuple[str, ...]) -> None:
        cost = sum(self.costs.of(name, self.detail[name].get(pid)) for name in names)
        if pid in self.gone or not self.affordable(cost):
            return
        with self.spending(cost):
            for name in names:
                fetch = self.areas[name].fetch
                assert fetch is not None
                try:
                    with self.timed(name):
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
                self.costs.learn(name, value)
        p = self.projects[pid]
        self.stamps[pid] = (p.updated_at, p.compute_last_active_at)

    def result(self) -> PollResult:
        """Phase 4: what is served. Copies, since the refresh may go on after an early publish."""
        for pid in self.gone:
            self.projects.pop(pid, None)
            self.stamps.pop(pid, None)
            for maps in (self.detail, self.fetched, self.failed):
                for m in maps.values():
                    m.pop(pid, None)

        def frozen(maps: Mapping[str, Mapping[str, T]]) -> Mapping[str, Mapping[str, T]]:
            return MappingProxyType({a: MappingProxyType(dict(m)) for a, m in maps.items()})

        return PollResult(
            key=self.client.key_name,
            taken_at=self.clock(),
            projects=MappingProxyType(dict(self.projects)),
            detail=frozen(self.detail),
            fetched=frozen(self.fetched),
            failed=frozen(self.failed),
            errors=MappingProxyType(dict(self.errors)),
            account=MappingProxyType(dict(self.account)),
            left_out=self.left_out,
            durations=MappingProxyType({a: end - start for a, (start, end) in self.spans.items()}),
        )
