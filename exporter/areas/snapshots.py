"""Snapshots and backup schedules: ``GET /projects/{project_id}/snapshots`` and, for each branch
that has a snapshot, ``GET /projects/{project_id}/branches/{branch_id}/backup_schedule``
(``--collector.snapshots``, off by default; v2 only; both routes are Beta at Neon). Refreshed
every ``--collector.snapshots.interval`` (1h by default) per project: 1 + (branches with snapshots) requests, usually 1 or 2.

Why only branches with snapshots: the project list does not name a project's default branch,
and a schedule per branch of every project would cost a branch list plus one request per
branch. A branch whose schedule has never made a snapshot, or whose snapshots have all expired,
is not seen (``NeonSnapshotOverdue`` fires long before the last one expires: see docs/alerts.md).

Sizes are summed per branch (a project on an hourly schedule keeps hundreds of snapshots: one
series each would be unbounded); the newest snapshot's time is per branch.

Sample::

    neon_branch_snapshots{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 3.0
    neon_branch_snapshot_newest_timestamp_seconds{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 1.7e+09
    neon_branch_snapshot_full_size_bytes{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 8.4e+07
    neon_branch_snapshot_diff_size_bytes{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 1.2e+06
    neon_branch_backup_schedule_interval_seconds{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 86400.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ..exposition.family import Family, ProjectData, Sample, one
from ..neon.client import NeonClient
from ..neon.errors import MalformedResponse
from ..neon.fields import ParseError
from ..neon.snapshots import BranchSnapshots, by_branch, parse_schedule, parse_snapshots
from .base import Area

NAME = "snapshots"
ROUTE = "/projects/{project_id}/snapshots"
SCHEDULE_ROUTE = "/projects/{project_id}/branches/{branch_id}/backup_schedule"


async def fetch(client: NeonClient, project_id: str) -> Mapping[str, BranchSnapshots]:
    """A project's snapshots by branch, with the schedule of each branch that has one. A 404
    of the (Beta) snapshot route fails the area for this project (it keeps its last data),
    never drops the project: the project list decides that."""
    data = await client.get(ROUTE, f"/projects/{project_id}/snapshots")
    snapshots = client.parse(ROUTE, parse_snapshots, data)
    schedules: dict[str, float | None] = {}
    for bid in sorted({s.branch_id for s in snapshots if s.branch_id}):
        path = f"/projects/{project_id}/branches/{bid}/backup_schedule"
        # Snapshots outlive their branch: a 404 here is a deleted branch, with no schedule.
        answer = await client.get_unless(SCHEDULE_ROUTE, path)
        schedules[bid] = None if answer is None else _schedule(client, answer)
    return by_branch(snapshots, schedules)


def _schedule(client: NeonClient, data: object) -> float | None:
    try:
        interval, skipped = parse_schedule(data)
    except ParseError as exc:
        raise MalformedResponse(SCHEDULE_ROUTE, str(exc)) from None
    client.count_skipped(SCHEDULE_ROUTE, skipped)
    return interval


def _branches(
    value: Callable[[BranchSnapshots], float | None],
) -> Callable[[ProjectData], Iterable[Sample]]:
    """One sample per branch with snapshots, by branch id."""

    def samples(d: ProjectData) -> Iterable[Sample]:
        branches: Mapping[str, BranchSnapshots] = d.of(NAME) or {}
        for bid, b in sorted(branches.items()):
            yield from one(value(b), d.id, bid)

    return samples


def _gauge(
    name: str, doc: str, value: Callable[[BranchSnapshots], float | None]
) -> Family[ProjectData]:
    return Family(
        f"neon_branch_{name}",
        f"{doc}, as last polled.",
        ("project_id", "branch_id"),
        _branches(value),
    )


FAMILIES: tuple[Family[ProjectData], ...] = (
    _gauge("snapshots", "Snapshots of the branch", lambda b: b.count),
    _gauge(
        "snapshot_newest_timestamp_seconds",
        "Unix time the newest snapshot of the branch was created",
        lambda b: b.newest,
    ),
    _gauge(
        "snapshot_full_size_bytes",
        "Sum of the full logical sizes of the branch's snapshots in bytes (those Neon has computed)",
        lambda b: b.full_size,
    ),
    _gauge(
        "snapshot_diff_size_bytes",
        "Sum of the incremental sizes of the branch's snapshots in bytes (those billed on increments)",
        lambda b: b.diff_size,
    ),
    _gauge(
        "backup_schedule_interval_seconds",
        "Shortest period between snapshots the branch's backup schedule sets; absent: no schedule",
        lambda b: b.schedule_interval,
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="snapshots per branch and their backup schedule (every --collector.snapshots.interval, hourly by default)",
    cost="1 + (branches with snapshots) requests per project per interval, in the budgeted rotation",
    families=FAMILIES,
    fetch=fetch,
    on_interval=True,
    # The snapshot list, then the schedule of each branch that has snapshots (see fetch).
    cost_of=lambda by_branch: 1 + sum(1 for bid in by_branch if bid),
)
