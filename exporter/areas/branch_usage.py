"""Usage per branch on usage-based plans (``--collector.branch_usage``, off by default; v2
only): ``GET /consumption_history/v2/branches``, every ``--collector.branch_usage.interval``.

Cost, plainly: 1 request per 100 projects of an organization per usage interval (1,000 branches
a page; a further page per 1,000 branches beyond). Series: up to 6 per branch (one per metric
Neon reports), so 6 x branches: 600 for 100 branches, 60,000 for 10,000. The route needs an
organization and a usage-based Launch, Scale, Agent or Enterprise plan: elsewhere (a 403, or a
project of no organization) the project has no series and nothing is asked per project; the
route is tried again for that organization every usage interval.

Sample::

    neon_branch_compute_unit_seconds{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 5.0e+04
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..exposition.family import Family, ProjectData, Sample
from ..neon import metered
from ..neon.client import NeonClient
from ..neon.errors import MalformedResponse
from ..neon.fields import page_cursor
from ..neon.metered import MeteredUsage, metered_rows
from .base import Area, BatchRoute
from .usage import CONSUMPTION_BATCH, METERED, metered_query

NAME = "branch_usage"
ROUTE = "/consumption_history/v2/branches"
PAGE = 1000  # branches a page: the route's maximum
MAX_PAGES = 100

# The six of the usage-based plans' metrics Neon's document lists for this route: named and
# described as the usage area's per-project series (usage.METERED), per branch.
METRICS = tuple(
    m for m in metered.METRICS if m not in ("extra_branches_month", "snapshot_storage_bytes_month")
)


@dataclass(frozen=True, slots=True)
class BranchUsage:
    """A project's branches' usage this billing period: (branch id, its metrics), by id."""

    branches: tuple[tuple[str, MeteredUsage], ...]


NOT_OFFERED = BranchUsage(())


def _page(data: object) -> tuple[list[tuple[str, str, MeteredUsage]], str | None, int, int]:
    """(project id, branch id, usage) of each item, the cursor, items, items skipped."""
    rows, count, skipped = metered_rows(data, "branches", ("project_id", "branch_id"))
    assert isinstance(data, dict)
    return [(pid, bid, u) for (pid, bid), u in rows], page_cursor(data), count, skipped


async def fetch_batch(
    client: NeonClient, org_id: str, project_ids: Sequence[str], now: datetime
) -> Mapping[str, BranchUsage] | None:
    """Every branch of up to 100 projects of ``org_id``; None on 403 (not on this plan)."""
    params = metered_query(org_id, project_ids, METRICS, now, limit=PAGE)
    found: dict[str, list[tuple[str, MeteredUsage]]] = {}
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        data = await client.get_unless(ROUTE, ROUTE, params, absent=(403,))
        if data is None:
            return None
        rows, cursor, count, skipped = client.parse_whole(ROUTE, _page, data)
        client.count_skipped(ROUTE, skipped)
        for pid, bid, usage in rows:
            found.setdefault(pid, []).append((bid, usage))
        if count < PAGE or cursor is None:
            return {pid: BranchUsage(tuple(sorted(b))) for pid, b in found.items()}
        if cursor in seen:
            client.cursor_repeated(ROUTE, org_id=org_id)
            return {pid: BranchUsage(tuple(sorted(b))) for pid, b in found.items()}
        seen.add(cursor)
        params["cursor"] = cursor
    raise MalformedResponse(ROUTE, f"more than {MAX_PAGES} pages")


async def fetch(client: NeonClient, project_id: str) -> BranchUsage:
    """A project the route cannot serve (no organization, or its plan answered 403): no
    request, no series (the route has no per-project form)."""
    return NOT_OFFERED


def _family(metric: str) -> Family[ProjectData]:
    name, doc = METERED[metric]

    def samples(d: ProjectData) -> Iterable[Sample]:
        usage: Any = d.of(NAME)
        if not isinstance(usage, BranchUsage):
            return ()
        return [
            ((d.id, bid), value)
            for bid, metered in usage.branches
            for m, value in metered.values
            if m == metric
        ]

    return Family(
        name.replace("neon_project_", "neon_branch_", 1),
        f"{doc}, by the branch, as last polled; resets each period.",
        ("project_id", "branch_id"),
        samples,
    )


FAMILIES: tuple[Family[ProjectData], ...] = tuple(_family(metric) for metric in METRICS)


AREA = Area(
    name=NAME,
    default=False,
    help="usage per branch on usage-based plans (every --collector.branch_usage.interval; up to 6 "
    "series per branch)",
    cost="1 request per 100 projects of an organization per usage interval (and 1 more per "
    "1,000 branches); none where the plan does not offer it, but one 403 per organization per "
    "usage interval",
    families=FAMILIES,
    fetch=fetch,
    on_interval=True,
    batches=(BatchRoute(ROUTE, fetch_batch, CONSUMPTION_BATCH, needs_org=True),),
)
