"""Branches: ``GET /projects/{project_id}/branches`` (``--collector.branches``, off by default;
v2 only), every page, refreshed in the budgeted rotation with the endpoints. The branch name is a label of the info metric only, so renaming a branch does not
start new size series.

Sample::

    neon_branch_info{branch_id="br-aged-salad-637688",branch_name="main",default="true",project_id="shiny-wind-028834",protected="false",state="ready"} 1.0
    neon_branch_logical_size_bytes{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 2.8e+07
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from ..collectors.base import SnapshotCollector, ViewSource
from ..neon.client import MAX_PAGES, NeonClient
from ..neon.errors import MalformedResponse
from ..neon.models import Branch
from ..neon.parse import parse_v2_branches_page
from ..state import View
from .base import Area

NAME = "branches"
ROUTE = "/projects/{project_id}/branches"
PAGE_LIMIT = 1000


async def fetch(client: NeonClient, project_id: str) -> tuple[Branch, ...] | None:
    """Every branch of a project, following ``pagination.next``; None when the project is
    gone (404)."""
    path = f"/projects/{project_id}/branches"
    params = {"limit": str(PAGE_LIMIT), "sort_by": "created_at", "sort_order": "asc"}
    out: dict[str, Branch] = {}  # by id: a repeated page never makes duplicate series
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        data = await client.get_unless_gone(ROUTE, path, params)
        if data is None:
            return None
        page = client.parse_whole(ROUTE, parse_v2_branches_page, data)
        client.count_skipped(ROUTE, page.skipped)
        out.update((b.id, b) for b in page.branches)
        # Whether Neon sends ``next`` on the last page is not documented: an empty page
        # ends the list as well as a missing cursor.
        if page.next is None or not page.branches:
            return tuple(out.values())
        if page.next in seen:
            # One project's broken paging must not cost it its branches: keep what was read.
            client.cursor_repeated(ROUTE, project_id=project_id, branches=len(out))
            return tuple(out.values())
        seen.add(page.next)
        params["cursor"] = page.next
    raise MalformedResponse(ROUTE, f"more than {MAX_PAGES} pages")


def branches_of(view: View) -> Mapping[str, tuple[Branch, ...]]:
    return cast(Mapping[str, tuple[Branch, ...]], view.of(NAME))


class BranchCollector(SnapshotCollector):
    def __init__(self, view: ViewSource) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        view = self.view()
        branches_by_project = branches_of(view)
        if not branches_by_project:  # nothing fetched yet
            return
        info = InfoMetricFamily(
            "neon_branch",
            "Neon branch metadata (polled from the Neon API); always 1.",
            labels=["project_id", "branch_id", "branch_name", "default", "protected", "state"],
        )
        size = GaugeMetricFamily(
            "neon_branch_logical_size_bytes",
            "Logical size of the branch in bytes, as last polled; absent until Neon reports it.",
            labels=["project_id", "branch_id"],
        )
        for pid, branches in branches_by_project.items():
            for b in branches:
                info.add_metric(
                    [
                        pid,
                        b.id,
                        b.name,
                        "true" if b.default else "false",
                        "true" if b.protected else "false",
                        b.state,
                    ],
                    {},
                )
                if b.logical_size_bytes is not None:
                    size.add_metric([pid, b.id], b.logical_size_bytes)
        yield from (info, size)


AREA = Area(
    name=NAME,
    default=False,
    help="branches per project (logical size, state)",
    cost="1 request per project per refresh (more past 1,000 branches), in the budgeted rotation",
    collector=BranchCollector,
    fetch=fetch,
    cost_of=lambda branches: max(1, -(-len(branches) // PAGE_LIMIT)),  # pages
)
