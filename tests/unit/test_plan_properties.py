"""The planner never starves a project: polls simulated over random fleets, activity, budgets
and areas, each poll spending what its budget affords in the plan's order."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.areas import BY_NAME
from exporter.neon.models import Project
from exporter.poll.plan import Memory, overdue_seconds, plan, slice_seconds
from exporter.poll.state import PollResult
from tests.support import coverage_paused

ROTATING = ("endpoints", "branches", "operations")
SNAPSHOTS_INTERVAL = 3600.0  # the default of --collector.snapshots.interval


@dataclass
class Fleet:
    """A key's projects as the list shows them, poll after poll, and what the planner knew."""

    size: int
    active: frozenset[int]  # projects whose running compute moves compute_last_active_at
    churning: frozenset[int]  # projects whose updated_at moves on every list
    fetched: dict[str, dict[str, float]] = field(default_factory=dict)
    memory: Memory = field(default_factory=Memory)

    def listed(self, poll: int) -> dict[str, Project]:
        def one(i: int) -> Project:
            updated = f"u{poll}" if i in self.churning else "u0"
            active = f"a{poll}" if i in self.active else "a0"
            pid = f"p{i:04}"
            return Project(
                pid, pid, "r", "aws", "", 16, 1, updated_at=updated, compute_last_active_at=active
            )

        return {p.id: p for p in map(one, range(self.size))}


def _poll(
    fleet: Fleet, projects: dict[str, Project], now: float, afford: int, overdue: float
) -> None:
    """One poll: the plan's items in order, each costing one request per area, while affordable
    (an item that does not fit is skipped, as ``Refresh.item`` skips it)."""
    previous = PollResult("k", now, MappingProxyType(projects), fetched=fleet.fetched)
    areas = [BY_NAME[a] for a in fleet.fetched]
    intervals = {a: SNAPSHOTS_INTERVAL for a in fleet.fetched if a not in ROTATING}
    work = plan(projects, previous, fleet.memory, areas, intervals, now=now, overdue_after=overdue)
    for pid, names in work.items:
        if len(names) > afford:
            continue
        afford -= len(names)
        for name in names:
            fleet.fetched[name][pid] = now
        p = projects[pid]
        fleet.memory.stamps[pid] = (p.updated_at, p.compute_last_active_at)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(10, 300),
    active_share=st.floats(0, 1),
    churn_share=st.floats(0, 0.5),
    budget=st.sampled_from([30.0, 60.0, 120.0, 300.0, 700.0]),
    interval=st.sampled_from([15.0, 30.0, 60.0]),
    areas=st.sets(st.sampled_from([*ROTATING, "snapshots"]), min_size=1),
)
def test_every_project_is_refreshed_within_the_rotation_bound(
    size: int,
    active_share: float,
    churn_share: float,
    budget: float,
    interval: float,
    areas: set[str],
) -> None:
    """Whatever changes each poll, every project's detail of every area is at most a poll older
    than one rotation of the budget (its area's interval on top), changed projects or not."""
    fleet = Fleet(
        size,
        frozenset(range(int(size * active_share))),
        frozenset(range(size - int(size * churn_share), size)),
        {a: {} for a in sorted(areas)},
    )
    rotating = sum(1 for a in areas if a in ROTATING)
    slice_ = slice_seconds(interval)
    afford = math.floor(budget * slice_ / 60) - 1  # the list's page comes out of it
    per_project = max(1, rotating) + (1 if "snapshots" in areas and rotating else 0)
    # One full rotation at the items a poll affords, in whole polls.
    rotation = max(math.ceil(size / (afford // per_project)) * interval, 3 * interval)
    overdue = overdue_seconds(size, rotating, budget, slice_)
    bound = max(rotation, overdue + interval) + interval
    with coverage_paused():
        for poll in range(40 + 2 * math.ceil(size / (afford // per_project))):
            now = 1_000.0 + poll * interval
            projects = fleet.listed(poll)
            ages = [
                now - times[pid] - (0.0 if a in ROTATING else SNAPSHOTS_INTERVAL)
                for a, times in fleet.fetched.items()
                for pid in projects
                if pid in times
            ]
            assert max(ages, default=0.0) <= bound, (poll, max(ages), bound)
            _poll(fleet, projects, now, afford, overdue)
