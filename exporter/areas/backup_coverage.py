"""Backup coverage: whether each project's default branch has a backup schedule
(``--collector.backup_coverage``, off by default; v2 only), refreshed hourly per project:
``GET /projects/{project_id}/branches`` (to find the default branch: the project list does not
name it) and ``GET /projects/{project_id}/branches/{branch_id}/backup_schedule``.

The snapshots area reads a schedule only for branches that already have snapshots, so a default
branch nobody ever scheduled backups for is invisible there; this area asks for it. Where the
plan does not offer snapshots (the schedule route answers 403) the project has no series: there
is nothing to set up. A 404 of the branch list fails the area for that project (the project list
decides whether a project is gone); a 404 of the schedule is a default branch replaced meanwhile:
no series until the next refresh.

Sample::

    neon_project_default_branch_backup_scheduled{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 0.0
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exposition.family import Family, ProjectData, flag
from ..neon.client import NeonClient
from ..neon.errors import ApiStatusError
from ..neon.snapshots import parse_schedule
from . import branches, snapshots
from .base import Area

NAME = "backup_coverage"


@dataclass(frozen=True, slots=True)
class DefaultBackup:
    branch_id: str
    scheduled: bool | None  # None: nothing to say (the plan offers no snapshots, ...)


NOTHING = DefaultBackup("", None)


async def fetch(client: NeonClient, project_id: str) -> DefaultBackup:
    """The default branch and whether its schedule is set; ``NOTHING`` where there is nothing
    to say (no default branch, snapshots not on the plan, the branch replaced meanwhile). Never
    None: that would say the project is gone."""
    listed = await branches.fetch_pages(client, project_id, branches.ROUTE)
    if listed is None:
        raise ApiStatusError(branches.ROUTE, 404, "project not found")
    default = next((b for b in listed if b.default and b.recovery is None), None)
    if default is None:
        return NOTHING
    path = f"/projects/{project_id}/branches/{default.id}/backup_schedule"
    # 403: not on this plan; 404: the branch gone since the list.
    answer = await client.get_unless(snapshots.SCHEDULE_ROUTE, path, absent=(403, 404))
    if answer is None:
        return NOTHING
    interval, skipped = client.parse_whole(snapshots.SCHEDULE_ROUTE, parse_schedule, answer)
    client.count_skipped(snapshots.SCHEDULE_ROUTE, skipped)
    return DefaultBackup(default.id, interval is not None)


def _scheduled(d: ProjectData) -> tuple[tuple[tuple[str, ...], float], ...]:
    backup: DefaultBackup = d.of(NAME) or NOTHING
    return flag(backup.scheduled, d.id, backup.branch_id)


FAMILIES: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_project_default_branch_backup_scheduled",
        "1 if the project's default branch has a backup schedule, 0 if it has none, as last "
        "polled; absent where the plan offers no snapshots.",
        ("project_id", "branch_id"),
        _scheduled,
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="whether each project's default branch has a backup schedule (every "
    "--collector.backup_coverage.interval, hourly by default)",
    cost="2 requests per project per interval (branch list, the default branch's schedule), in "
    "the budgeted rotation",
    families=FAMILIES,
    fetch=fetch,
    on_interval=True,
    cost_of=lambda _: 2,  # the branch list, then the default branch's schedule
)
