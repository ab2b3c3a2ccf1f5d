"""Branches: ``GET /projects/{project_id}/branches`` (``--collector.branches``, off by default;
v2 only), every page, refreshed in the budgeted rotation with the endpoints. The branch name is a label of the info metric only, so renaming a branch does not
start new size series.

Sample::

    neon_branch_info{branch_id="br-aged-salad-637688",branch_name="main",default="true",project_id="shiny-wind-028834",protected="false",state="ready"} 1.0
    neon_branch_logical_size_bytes{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 2.8e+07
    neon_branch_expires_timestamp_seconds{branch_id="br-dry-fog-123456",project_id="shiny-wind-028834"} 1.7e+09
    neon_branch_ttl_interval_seconds{branch_id="br-dry-fog-123456",project_id="shiny-wind-028834"} 86400.0

Expiry (``expires_at``, ``ttl_interval_seconds``; early access at Neon) rides on the same list:
no request of its own. Deleted branches (``include_deleted=true``) are never shown here, even
if a list carries them: see :mod:`.deleted_branches`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from ..exposition.family import Family, ProjectData, Sample, one
from ..neon.client import MAX_PAGES, NeonClient
from ..neon.errors import MalformedResponse
from ..neon.models import Branch
from ..neon.parse import parse_v2_branches_page
from .base import Area

NAME = "branches"
ROUTE = "/projects/{project_id}/branches"
PAGE_LIMIT = 1000


async def fetch(client: NeonClient, project_id: str) -> tuple[Branch, ...] | None:
    """Every branch of a project, following ``pagination.next``; None when the project is
    gone (404)."""
    return await fetch_pages(client, project_id, ROUTE)


async def fetch_pages(
    client: NeonClient,
    project_id: str,
    route: str,
    *,
    absent: Collection[int] = (404,),
    **extra: str,
) -> tuple[Branch, ...] | None:
    """Every page of a project's branch list (``extra``: more query parameters; ``route``:
    the template it is counted under); None when Neon answers an ``absent`` status (404: the
    project is gone)."""
    path = f"/projects/{project_id}/branches"
    params = {"limit": str(PAGE_LIMIT), "sort_by": "created_at", "sort_order": "asc", **extra}
    out: dict[str, Branch] = {}  # by id: a repeated page never makes duplicate series
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        data = await client.get_unless(route, path, params, absent=absent)
        if data is None:
            return None
        page = client.parse_whole(route, parse_v2_branches_page, data)
        client.count_skipped(route, page.skipped)
        out.update((b.id, b) for b in page.branches)
        # Whether Neon sends ``next`` on the last page is not documented: an empty page
        # ends the list as well as a missing cursor.
        if page.next is None or not page.branches:
            return tuple(out.values())
        if page.next in seen:
            # One project's broken paging must not cost it its branches: keep what was read.
            client.cursor_repeated(route, project_id=project_id, branches=len(out))
            return tuple(out.values())
        seen.add(page.next)
        params["cursor"] = page.next
    raise MalformedResponse(route, f"more than {MAX_PAGES} pages")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def live(d: ProjectData) -> Iterable[Branch]:
    """The project's branches, none deleted (a deleted one has its ``recovery``)."""
    return (b for b in d.of(NAME) or () if b.recovery is None)


def _info(d: ProjectData) -> Iterable[Sample]:
    for b in live(d):
        yield (d.id, b.id, b.name, _bool(b.default), _bool(b.protected), b.state), 1.0


def _per_branch(
    value: Callable[[Branch], float | None],
) -> Callable[[ProjectData], Iterable[Sample]]:
    return lambda d: (s for b in live(d) for s in one(value(b), d.id, b.id))


FAMILIES: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_branch_info",
        "Neon branch metadata (polled from the Neon API); always 1.",
        ("project_id", "branch_id", "branch_name", "default", "protected", "state"),
        _info,
        kind="info",
    ),
    Family(
        "neon_branch_logical_size_bytes",
        "Logical size of the branch in bytes, as last polled; absent until Neon reports it.",
        ("project_id", "branch_id"),
        _per_branch(lambda b: b.logical_size_bytes),
    ),
    Family(
        "neon_branch_expires_timestamp_seconds",
        "Unix time the branch is set to expire and be deleted (Neon's expires_at), as last "
        "polled; absent when it does not expire.",
        ("project_id", "branch_id"),
        _per_branch(lambda b: b.expires_at),
    ),
    Family(
        "neon_branch_ttl_interval_seconds",
        "The time-to-live the branch's expiry was set with (Neon's ttl_interval_seconds), as "
        "last polled; absent when it does not expire.",
        ("project_id", "branch_id"),
        _per_branch(lambda b: b.ttl_interval_seconds),
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="branches per project (logical size, state)",
    cost="1 request per project per refresh (more past 1,000 branches), in the budgeted rotation",
    families=FAMILIES,
    fetch=fetch,
    cost_of=lambda branches: max(1, -(-len(branches) // PAGE_LIMIT)),  # pages
)
