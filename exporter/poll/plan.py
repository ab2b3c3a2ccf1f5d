"""What one poll refreshes, most urgent first: a pure function of what is known, no I/O.

The poller keeps its planning memory (:class:`Memory`) apart from the poll results that are served:
when each project's list entry was last seen with fresh detail, and which batch routes the plan
denied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ..areas import Area
from ..areas.base import BatchRoute
from ..areas.endpoints import NAME as ENDPOINTS
from ..neon.client import PAGE_LIMIT
from ..neon.models import Project, derive_state
from .selection import Selection
from .state import PollResult

LIST_SHARE = 0.1  # of a key's budget the project list may take before it is fetched less often


@dataclass(slots=True)
class Memory:
    """The poller's planning memory of one key: never served, only used to choose work."""

    listed_at: float | None = None  # time.monotonic() of the last project list fetched
    # The selection that list was filtered with: a reload that changes it makes the list due
    # (a project it adds is only in a new list), so the change applies at the next poll.
    selection: Selection | None = None
    # project id -> (updated_at, compute_last_active_at) of its list entry when its rotating
    # detail was last fetched: a list entry that differs marks the project changed.
    stamps: dict[str, tuple[str, str]] = field(default_factory=dict)
    # denial(route, org) -> wall time that batch route answered 403 for that organization (not
    # on its plan): the area's next route (or per project) serves it until the area's interval
    # has passed, then the better route is tried again. Plans are per organization, so a key
    # seeing two organizations learns each apart.
    denied_at: dict[str, float] = field(default_factory=dict)
    # denial(area, org) -> the batch route that last answered for it: the route that works.
    routes: dict[str, str] = field(default_factory=dict)


def denial(route: str, org: str) -> str:
    """The memory's key for a route (or area) and an organization ("" for none)."""
    return f"{route} {org}" if org else route


class BatchKey(NamedTuple):
    area: str
    route: str
    org: str  # "" for projects of no organization


@dataclass(frozen=True, slots=True)
class Plan:
    """Batches first (many projects a request), then per-project items.

    ``items`` are (project id, areas) most urgent first: new projects, then overdue, then
    changed, then the oldest detail; the first ``urgent`` are new, overdue or changed.
    """

    batches: Mapping[BatchKey, list[list[str]]]  # batches of project ids due, per route
    items: list[tuple[str, tuple[str, ...]]]
    urgent: int = 0
    account: tuple[str, ...] = ()  # account-level areas due (one request or list each)


def batch_route(
    area: Area, org: str, memory: Memory, intervals: Mapping[str, float], now: float
) -> BatchRoute | None:
    """The best of the area's batch routes for projects of ``org`` not denied to it within the
    area's interval; None: per project."""
    for route in area.batches:
        if route.needs_org and not org:
            continue
        denied = memory.denied_at.get(denial(route.route, org))
        if denied is None or now - denied >= intervals.get(area.name, 0.0):
            return route
    return None


def plan(
    projects: Mapping[str, Project],
    previous: PollResult | None,
    memory: Memory,
    areas: Sequence[Area],
    intervals: Mapping[str, float],
    *,
    now: float,
    skip: set[str] | frozenset[str] = frozenset(),
    overdue_after: float | None = None,
) -> Plan:
    """The work of one poll. ``areas`` are the detail areas on; ``intervals`` holds the refresh
    interval of each area refreshed on its own clock (absent: every rotation); ``skip`` are
    projects whose list entry is carried over (unavailable), so not refreshed now;
    ``overdue_after``: seconds late past which a project's detail goes before changed projects'
    (see :func:`overdue_seconds`; None: no bound)."""
    fetched = previous.fetched if previous is not None else {}
    account = _account_due(previous, [a for a in areas if a.fetch_account], intervals, now)
    areas = [a for a in areas if a.detail]
    rotating = tuple(a.name for a in areas if a.name not in intervals)
    batches: dict[BatchKey, list[list[str]]] = {}
    per_project: dict[str, set[str]] = {}  # interval area -> projects due one by one
    for area in areas:
        if area.name in intervals:
            times = fetched.get(area.name, {})
            due = sorted(
                (
                    pid
                    for pid in projects
                    if pid not in skip and now - times.get(pid, -math.inf) >= intervals[area.name]
                ),
                key=lambda pid: times.get(pid, -1.0),
            )
            per_project[area.name] = _batch(area, due, projects, memory, intervals, now, batches)
    ranked = _ranked(
        projects, previous, memory, _Due(rotating, per_project, intervals, now, skip, overdue_after)
    )
    urgent = sum(1 for rank, *_ in ranked if rank < 3)
    return Plan(batches, [(pid, names) for _, _, pid, names in ranked], urgent, account)


def _batch(
    area: Area,
    due: list[str],
    projects: Mapping[str, Project],
    memory: Memory,
    intervals: Mapping[str, float],
    now: float,
    batches: dict[BatchKey, list[list[str]]],
) -> set[str]:
    """Put the ``due`` projects of an interval area into ``batches`` by route and organization,
    at most a route's size a request; returns those no batch route serves (one by one)."""
    groups: dict[BatchKey, list[str]] = {}
    alone: set[str] = set()
    for pid in due:
        org = projects[pid].org_id
        route = batch_route(area, org, memory, intervals, now)
        if route is None:
            alone.add(pid)
        else:
            groups.setdefault(BatchKey(area.name, route.route, org), []).append(pid)
    for key, ids in groups.items():
        size = next(r.size for r in area.batches if r.route == key.route)
        batches[key] = [ids[i : i + size] for i in range(0, len(ids), size)]
    return alone


class _Due(NamedTuple):
    rotating: tuple[str, ...]  # areas refreshed every rotation
    per_project: Mapping[str, set[str]]  # interval area -> projects due one by one
    intervals: Mapping[str, float]
    now: float
    skip: set[str] | frozenset[str]
    overdue_after: float | None


def _ranked(
    projects: Mapping[str, Project], previous: PollResult | None, memory: Memory, due: _Due
) -> list[tuple[int, float, str, tuple[str, ...]]]:
    """(rank, order within the rank, project, areas), sorted: new (0), overdue (1), changed
    (2), then the rest (3), oldest detail first.

    Overdue: detail past ``overdue_after`` seconds late (the area's own interval aside).
    Those go before changed projects, so changed ones go first but never forever: when more
    projects change each poll than a poll affords (running computes move
    ``compute_last_active_at`` on every list), the rotation still reaches every other project
    within the bound docs/configuration.md promises, and is plain oldest-first at worst.
    """
    fetched = previous.fetched if previous is not None else {}
    ranked: list[tuple[int, float, str, tuple[str, ...]]] = []
    for pid, p in projects.items():
        if pid in due.skip:
            continue
        names = due.rotating + tuple(a for a, ids in due.per_project.items() if pid in ids)
        if not names:
            continue
        known = [fetched.get(a, {}).get(pid) for a in due.rotating or names]
        oldest = min((t for t in known if t is not None), default=-1.0)
        late = max(
            due.now - fetched.get(a, {}).get(pid, due.now) - due.intervals.get(a, 0.0)
            for a in names
        )
        if any(t is None for t in known):
            ranked.append((0, oldest, pid, names))  # new: nothing known yet
        elif due.overdue_after is not None and late >= due.overdue_after:
            ranked.append((1, -late, pid, names))  # the latest first
        elif _changed(p, memory.stamps.get(pid), previous, pid):
            ranked.append((2, oldest, pid, names))
        else:
            ranked.append((3, oldest, pid, names))
    ranked.sort()
    return ranked


def _account_due(
    previous: PollResult | None,
    areas: Sequence[Area],
    intervals: Mapping[str, float],
    now: float,
) -> tuple[str, ...]:
    """Account-level areas never fetched, failing, or older than their interval."""
    have = previous.account if previous is not None else {}
    due = []
    for area in areas:
        piece = have.get(area.name)
        if (
            piece is None
            or piece.failing_since is not None
            or now - piece.fetched_at >= intervals.get(area.name, 0.0)
        ):
            due.append(area.name)
    return tuple(due)


def _changed(
    p: Project, stamp: tuple[str, str] | None, previous: PollResult | None, pid: str
) -> bool:
    """Whether the list entry moved since the project's detail was fetched.

    ``compute_last_active_at`` moves all the time while a compute runs; for a project already
    known to be active that is no news, so it only counts for projects not known active.
    """
    if stamp is None:
        return True
    if stamp[0] != p.updated_at:
        return True
    endpoints = previous.detail.get(ENDPOINTS, {}).get(pid) if previous is not None else None
    known_active = endpoints is not None and derive_state(endpoints) == "active"
    return stamp[1] != p.compute_last_active_at and not known_active


def list_interval(projects: int, budget_per_minute: float) -> float:
    """Seconds between fetches of the project list, so its pages take at most LIST_SHARE.

    The list is what shows new and changed projects, so it is fetched every poll while it is
    cheap: at 1,000 projects and 300 requests a minute every 6 s, so every poll. At 10,000
    projects and 120 a minute its 25 pages a poll would be a fifth of the budget and hold full
    freshness well above the floor; then polls in between rotate detail only.
    """
    pages = max(1, math.ceil(projects / PAGE_LIMIT))
    return pages * 60.0 / (LIST_SHARE * budget_per_minute)


def overdue_seconds(
    projects: int, rotating: int, budget_per_minute: float, poll_interval: float
) -> float:
    """Seconds late past which a project's detail goes before changed projects' detail.

    The rotation refreshes ``projects`` x ``rotating`` requests with what the budget leaves
    after the list: every project within ``bound`` (docs/configuration.md's promise). A project
    that would pass it before the next poll goes now. Never under two polls: while every project
    fits in each poll, changed ones go first (and are published early) as before.
    """
    pages = max(1, math.ceil(projects / PAGE_LIMIT))
    list_per_minute = pages * 60.0 / max(poll_interval, list_interval(projects, budget_per_minute))
    detail_per_minute = max(budget_per_minute - list_per_minute, budget_per_minute / 2)
    bound = projects * max(1, rotating) / detail_per_minute * 60.0
    return max(bound - poll_interval, 2 * poll_interval)


def poll_deadline(*, poll_interval: float, poll_max_age: float) -> float:
    """How long one poll of one key may take in all, retries and ``Retry-After`` waits included.

    Each request has its own timeout, but a poll is many requests, each retried, so a slow or
    stalling upstream could keep a poll running for hours while ``poll_success`` still said 1.
    The deadline makes such a poll fail while the last good data is still served (it ends
    ``poll_interval`` before that data is ``poll_max_age`` old), yet leaves room for any poll the
    configuration can serve: one slower than this would see its data expire between polls anyway.
    """
    return max(poll_interval, poll_max_age - poll_interval)


def slice_seconds(poll_interval: float) -> float:
    """How long a scheduled poll refreshes detail before it carries the rest over: the poll
    interval less the poll job's jitter and a margin, so it is done before its next run is due
    (a run still going then would make APScheduler skip that run and idle the budget)."""
    margin = max(0.5, poll_interval / 50)
    return max(poll_interval / 2, poll_interval - poll_jitter(poll_interval) - margin)


def poll_jitter(poll_interval: float) -> float:
    return min(1.0, poll_interval / 20)
