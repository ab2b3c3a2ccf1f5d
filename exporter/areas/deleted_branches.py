"""Deleted branches that can still be recovered: ``GET /projects/{project_id}/branches
?include_deleted=true`` (``--collector.deleted_branches``, off by default; v2 only), every page,
refreshed hourly per project.

Branch recovery is in preview at Neon ("not available to all users"): a 403 means the account
does not have it, and the project simply has no deleted branches here (the key is fine, the
area succeeds). A 404 fails the area for that project (it keeps its last data): whether a
project is gone is for the project list to say. Each deleted branch's ``recovery`` says when it
was deleted, until when it can be recovered, and how it went (``user`` or ``ttl``: expired).
Branches deleted by their expiry are the ones worth a look: nobody chose to delete them.

Sample::

    neon_deleted_branch_info{branch_id="br-old-fog-123456",branch_name="preview-42",deletion_method="ttl",project_id="shiny-wind-028834"} 1.0
    neon_deleted_branch_deleted_timestamp_seconds{branch_id="br-old-fog-123456",project_id="shiny-wind-028834"} 1.7e+09
    neon_deleted_branch_recoverable_until_timestamp_seconds{branch_id="br-old-fog-123456",project_id="shiny-wind-028834"} 1.7006e+09
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..exposition.family import Family, ProjectData, Sample, info, one
from ..neon.client import NeonClient
from ..neon.models import Branch, BranchRecovery
from .base import Area
from .branches import fetch_pages

NAME = "deleted_branches"
ROUTE = "/projects/{project_id}/branches?include_deleted=true"  # counted apart from the list


async def fetch(client: NeonClient, project_id: str) -> tuple[Branch, ...]:
    """The project's deleted, still recoverable branches; none where the account does not
    have branch recovery (403)."""
    # A 404 fails the area for the project (the project list decides whether it is gone).
    branches = await fetch_pages(client, project_id, ROUTE, absent=(403,), include_deleted="true")
    return tuple(b for b in branches or () if b.recovery is not None)


def _deleted(
    value: Callable[[str, Branch, BranchRecovery], Iterable[Sample]],
) -> Callable[[ProjectData], Iterable[Sample]]:
    def samples(d: ProjectData) -> Iterable[Sample]:
        for b in sorted(d.of(NAME) or (), key=lambda b: b.id):
            assert b.recovery is not None
            yield from value(d.id, b, b.recovery)

    return samples


FAMILIES: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_deleted_branch_info",
        "A deleted Neon branch that can still be recovered (polled); deletion_method: user, "
        "or ttl when it expired. Always 1.",
        ("project_id", "branch_id", "branch_name", "deletion_method"),
        _deleted(lambda pid, b, r: info(pid, b.id, b.name, r.deletion_method)),
        kind="info",
    ),
    Family(
        "neon_deleted_branch_deleted_timestamp_seconds",
        "Unix time the branch was deleted, as last polled.",
        ("project_id", "branch_id"),
        _deleted(lambda pid, b, r: one(r.deleted_at, pid, b.id)),
    ),
    Family(
        "neon_deleted_branch_recoverable_until_timestamp_seconds",
        "Unix time after which the deleted branch can no longer be recovered, as last polled.",
        ("project_id", "branch_id"),
        _deleted(lambda pid, b, r: one(r.recoverable_until, pid, b.id)),
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="deleted branches that can still be recovered, and why they went (every "
    "--collector.deleted_branches.interval, hourly by default)",
    cost="1 request per project per interval (more past 1,000 branches), in the budgeted rotation",
    families=FAMILIES,
    fetch=fetch,
    on_interval=True,
)
