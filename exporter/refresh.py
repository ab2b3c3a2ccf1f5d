"""Phase 3 of a poll: refresh the detail of every area due, within the key's request budget.

Batched routes first (many projects a request), then account-level areas, then per-project
detail most urgent first. Each area fails apart: a failed request marks its projects failing
(their last detail is kept, see ``KeySnapshot.failed``) and the refresh goes on.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

import structlog

from .areas import Area
from .neon.client import NeonClient
from .neon.errors import KeyRejected, NeonError
from .neon.models import Project
from .plan import BatchKey, Memory, Plan, denial
from .state import AccountPiece, KeySnapshot

log = structlog.get_logger("exporter.refresh")
T = TypeVar("T")
U = TypeVar("U")
Publish = Callable[[KeySnapshot], None]


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

    @contextmanager
    def spending(self, cost: int) -> Iterator[None]:
        """``cost`` requests in flight: later ones queue behind them on the budget."""
        self.pending += cost
        try:
            yield
        finally:
            self.pending -= cost

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
            with self.spending(1):
                value = await fetch(self.client)
        except KeyRejected:
            raise
        except NeonError as exc:
            self.errors.setdefault(name, str(exc))
            old = self.account.get(name) or AccountPiece(None, -math.inf)
            if old.failing_since is None:
                self.account[name] = replace(old, failing_since=self.clock())
            return
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
        try:
            with self.spending(1):
                # The billing period is a matter of real time, not of the injectable clock.
                answer = await route.fetch(self.client, key.org, ids, datetime.now(UTC))
        except KeyRejected:
            raise
        except NeonError as exc:
            self.area_failed(key.area, ids, str(exc))
            return "failed"
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
        with self.spending(len(names)):
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


def same(old: T | None, new: T) -> T:
    """``old`` when it equals ``new``: what a poll fetched again unchanged stays the very object
    served before. The snapshot comparison (``State.publish``) and the exposition's per-project
    one then find most data identical at a pointer's cost, on the event loop, instead of
    comparing every field of every project; this compares each once, as its page or detail
    arrives (a page at a time, between awaits). The new copy is freed young."""
    return old if old is not None and old == new else new


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
