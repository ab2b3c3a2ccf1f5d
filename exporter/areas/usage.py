"""Usage: billing-period usage per project (``--collector.usage``, off by default; v2 only).

From wherever the project's plan reports it, learnt per key and organization from Neon's
answers: ``GET /consumption_history/v2/projects`` on today's usage-based plans (Launch, Scale,
Agent, Business, Enterprise; 100 projects of one organization per request), else the legacy
``GET /consumption_history/projects`` (100 projects per request), else ``GET
/projects/{project_id}``. A 403 means "not on this plan": the next route serves, the key is
never tripped, and the better route is tried again every usage interval (see
:class:`exporter.poll.plan.Memory`). Refreshed every ``usage_interval`` (15m by default, about how
often Neon updates it). Gauges, not counters: they reset when a billing period starts. A value
Neon does not report is absent, never 0 (legacy consumption history has no data transfer).

The v2 route needs an ``org_id``: each project's own, from the project list the poll has
already fetched (no request; every project of today's Neon belongs to an organization, and a
key configured with ``org_id`` lists that organization's). A project without one is served by
the legacy route or per project.

Sample::

    neon_project_active_time_seconds{project_id="shiny-wind-028834"} 1.0e+05
    neon_project_compute_time_seconds{project_id="shiny-wind-028834"} 2.5e+04
    neon_project_written_data_bytes{project_id="shiny-wind-028834"} 1.048576e+08
    neon_project_data_transfer_bytes{project_id="shiny-wind-028834"} 5.24288e+07
    neon_project_data_storage_byte_seconds{project_id="shiny-wind-028834"} 3.6e+13
    neon_project_compute_unit_seconds{project_id="shiny-wind-028834"} 5.0e+04
    neon_project_root_branch_byte_months{project_id="shiny-wind-028834"} 1.0e+09
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from ..exposition.family import Family, ProjectData, Sample, one
from ..neon.client import NeonClient
from ..neon.errors import MalformedResponse
from ..neon.metered import METRICS, MeteredUsage, parse_metered_page
from ..neon.models import USAGE_FIELDS, Usage
from ..neon.parse import parse_consumption_projects, parse_v2_project_usage
from .base import Area, BatchRoute

NAME = "usage"
PROJECT_ROUTE = "/projects/{project_id}"
CONSUMPTION_ROUTE = "/consumption_history/projects"
METERED_ROUTE = "/consumption_history/v2/projects"
MAX_PAGES = 100  # with at most 100 project_ids and limit=100 one page is the norm
CONSUMPTION_BATCH = 100  # project_ids per consumption history request (the API's maximum)


async def fetch(client: NeonClient, project_id: str) -> Usage | None:
    """Billing-period usage from ``GET /projects/{id}``; None when the project is gone."""
    data = await client.get_unless(PROJECT_ROUTE, f"/projects/{project_id}")
    return None if data is None else client.parse_whole(PROJECT_ROUTE, parse_v2_project_usage, data)


def billing_period(now: datetime) -> tuple[str, str]:
    """This month and the start of the next, as Neon's ``from``/``to``.

    Neon rounds ``from``/``to`` down to the granularity, so ``to`` is the start of next month:
    a query ending now would stop at the start of this month and miss it.
    """
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")


async def fetch_batch(
    client: NeonClient, org_id: str, project_ids: Sequence[str], now: datetime
) -> Mapping[str, Usage] | None:
    """Legacy plans: current-period usage of up to 100 projects in one request; None on 403
    (the plan does not include it: per project then, and the key is fine)."""
    if len(project_ids) > CONSUMPTION_BATCH:
        raise ValueError(f"at most {CONSUMPTION_BATCH} projects per request")
    start, end = billing_period(now)
    params = {
        "project_ids": ",".join(project_ids),
        "limit": str(CONSUMPTION_BATCH),
        "granularity": "monthly",
        "from": start,
        "to": end,
        "metrics": "active_time_seconds,compute_time_seconds,written_data_bytes,"
        "data_storage_bytes_hour",
    }
    if org_id or client.org_id:
        params["org_id"] = org_id or client.org_id or ""
    data = await client.get_unless(CONSUMPTION_ROUTE, CONSUMPTION_ROUTE, params, absent=(403,))
    return (
        None if data is None else client.parse(CONSUMPTION_ROUTE, parse_consumption_projects, data)
    )


def metered_query(
    org_id: str, project_ids: Sequence[str], metrics: Sequence[str], now: datetime, *, limit: int
) -> dict[str, str]:
    """The query of a v2 consumption history route (projects, branches): ``metrics`` of the
    projects of ``org_id`` in this billing month, ``limit`` items a page."""
    start, end = billing_period(now)
    return {
        "org_id": org_id,
        "project_ids": ",".join(project_ids),
        "limit": str(limit),
        "granularity": "monthly",
        "from": start,
        "to": end,
        "metrics": ",".join(metrics),
    }


async def fetch_metered(
    client: NeonClient, org_id: str, project_ids: Sequence[str], now: datetime
) -> Mapping[str, MeteredUsage] | None:
    """Usage-based plans: every metric of up to 100 projects of organization ``org_id`` in the
    current month, in one request (more only if Neon pages them); None on 403 (not on a
    usage-based plan: the next route then, and the key is fine)."""
    if len(project_ids) > CONSUMPTION_BATCH:
        raise ValueError(f"at most {CONSUMPTION_BATCH} projects per request")
    params = metered_query(org_id, project_ids, METRICS, now, limit=CONSUMPTION_BATCH)
    out: dict[str, MeteredUsage] = {}
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        data = await client.get_unless(METERED_ROUTE, METERED_ROUTE, params, absent=(403,))
        if data is None:
            return None
        page = client.parse_whole(METERED_ROUTE, parse_metered_page, data)
        client.count_skipped(METERED_ROUTE, page.skipped)
        out.update(page.usage)
        # Every project asked for seen, an empty page, or no cursor: done. Otherwise the
        # cursor is followed (Neon may page below the limit; a project it does not report
        # costs one more, empty, page).
        if out.keys() >= set(project_ids) or page.count == 0 or page.cursor is None:
            return out
        if page.cursor in seen:
            client.cursor_repeated(METERED_ROUTE, org_id=org_id)
            return out
        seen.add(page.cursor)
        params["cursor"] = page.cursor
    raise MalformedResponse(METERED_ROUTE, f"more than {MAX_PAGES} pages")


_HELP = {
    "active_time_seconds": "Time the project's computes were active in the billing period",
    "compute_time_seconds": "CPU seconds used by the project's computes in the billing period",
    "written_data_bytes": "Bytes of WAL written for the project in the billing period",
    "data_transfer_bytes": "Bytes of egress from Neon to clients in the billing period",
    "data_storage_byte_seconds": (
        "Storage consumed in the billing period in byte-seconds (Neon's "
        "data_storage_bytes_hour x 3600)"
    ),
}


# Neon's v2 metric -> (series name, help). Named after Neon's metric and its unit in the plural
# Prometheus way ("bytes_month" -> "byte_months"); values as Neon sends them, not converted: a
# billing month is not a fixed number of seconds, and prices are per GB-month and CU-hour.
METERED = {
    "compute_unit_seconds": (
        "neon_project_compute_unit_seconds",
        "Compute used in the billing period in compute-unit seconds (CU x seconds)",
    ),
    "root_branch_bytes_month": (
        "neon_project_root_branch_byte_months",
        "Storage of root branches in the billing period in byte-months",
    ),
    "child_branch_bytes_month": (
        "neon_project_child_branch_byte_months",
        "Storage of child branches (their changes) in the billing period in byte-months",
    ),
    "instant_restore_bytes_month": (
        "neon_project_instant_restore_byte_months",
        "History kept for instant restore in the billing period in byte-months",
    ),
    "public_network_transfer_bytes": (
        "neon_project_public_network_transfer_bytes",
        "Bytes sent over the public network in the billing period",
    ),
    "private_network_transfer_bytes": (
        "neon_project_private_network_transfer_bytes",
        "Bytes sent over private networking in the billing period",
    ),
    "extra_branches_month": (
        "neon_project_extra_branch_months",
        "Branches beyond the plan's allowance in the billing period in branch-months",
    ),
    "snapshot_storage_bytes_month": (
        "neon_project_snapshot_storage_byte_months",
        "Snapshot storage in the billing period in byte-months",
    ),
}


def _legacy(name: str) -> Family[ProjectData]:
    def samples(d: ProjectData) -> Iterable[Sample]:
        usage = d.of(NAME)
        return one(getattr(usage, name), d.id) if isinstance(usage, Usage) else ()

    return Family(
        f"neon_project_{name}",
        f"{_HELP[name]}, as last polled; resets each period.",
        ("project_id",),
        samples,
    )


def _metered(metric: str, name: str, doc: str) -> Family[ProjectData]:
    def samples(d: ProjectData) -> Iterable[Sample]:
        usage = d.of(NAME)
        if not isinstance(usage, MeteredUsage):
            return ()
        return [((d.id,), value) for m, value in usage.values if m == metric]

    return Family(name, f"{doc}, as last polled; resets each period.", ("project_id",), samples)


# Legacy plans' fields first, then usage-based plans' metrics: a project has one or the other.
FAMILIES: tuple[Family[ProjectData], ...] = (
    *(_legacy(name) for name in USAGE_FIELDS),
    *(_metered(metric, name, doc) for metric, (name, doc) in METERED.items()),
)


AREA = Area(
    name=NAME,
    default=False,
    help="billing-period usage per project (every --collector.usage.interval)",
    cost="1 request per 100 projects of an organization per usage interval from consumption "
    "history (v2 on usage-based plans, else legacy); where the plan has neither (403), 1 "
    "request per project per usage interval, plus one 403 per denied route and organization "
    "per usage interval (the better route tried again)",
    families=FAMILIES,
    fetch=fetch,
    on_interval=True,
    batches=(
        BatchRoute(METERED_ROUTE, fetch_metered, CONSUMPTION_BATCH, needs_org=True),
        BatchRoute(CONSUMPTION_ROUTE, fetch_batch, CONSUMPTION_BATCH),
    ),
)
