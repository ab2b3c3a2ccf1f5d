"""Usage: billing-period usage per project (``--collector.usage``, off by default; v2 only).

From the consumption history API (100 projects per request) where the plan includes it, else
``GET /projects/{project_id}``; refreshed every ``usage_interval`` (15m by default, about how
often Neon updates it). Gauges, not counters: they reset when a billing period starts. A value
Neon does not report is absent, never 0 (consumption history has no data transfer).

Sample::

    neon_project_active_time_seconds{project_id="shiny-wind-028834"} 1.0e+05
    neon_project_compute_time_seconds{project_id="shiny-wind-028834"} 2.5e+04
    neon_project_written_data_bytes{project_id="shiny-wind-028834"} 1.048576e+08
    neon_project_data_transfer_bytes{project_id="shiny-wind-028834"} 5.24288e+07
    neon_project_data_storage_byte_seconds{project_id="shiny-wind-028834"} 3.6e+13
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

from prometheus_client.core import GaugeMetricFamily, Metric

from ..collectors.base import SnapshotCollector, ViewSource
from ..neon.client import NeonClient
from ..neon.errors import ApiStatusError
from ..neon.models import USAGE_FIELDS, Usage
from ..neon.parse import parse_consumption_projects, parse_v2_project_usage
from ..state import View
from .base import Area

NAME = "usage"
PROJECT_ROUTE = "/projects/{project_id}"
CONSUMPTION_ROUTE = "/consumption_history/projects"
CONSUMPTION_BATCH = 100  # project_ids per consumption history request (the API's maximum)


async def fetch(client: NeonClient, project_id: str) -> Usage | None:
    """Billing-period usage from ``GET /projects/{id}``; None when the project is gone."""
    data = await client.get_unless_gone(PROJECT_ROUTE, f"/projects/{project_id}")
    return None if data is None else client.parse_whole(PROJECT_ROUTE, parse_v2_project_usage, data)


def _period(now: datetime) -> tuple[str, str]:
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
    client: NeonClient, project_ids: Sequence[str], now: datetime
) -> Mapping[str, Usage] | None:
    """Current-period usage of up to 100 projects in one request; None on 403 (the plan does
    not include consumption history: per project then, and the key is fine)."""
    if len(project_ids) > CONSUMPTION_BATCH:
        raise ValueError(f"at most {CONSUMPTION_BATCH} projects per request")
    start, end = _period(now)
    params = {
        "project_ids": ",".join(project_ids),
        "limit": str(CONSUMPTION_BATCH),
        "granularity": "monthly",
        "from": start,
        "to": end,
        "metrics": "active_time_seconds,compute_time_seconds,written_data_bytes,"
        "data_storage_bytes_hour",
    }
    if client.org_id:
        params["org_id"] = client.org_id
    try:
        data = await client.get(CONSUMPTION_ROUTE, CONSUMPTION_ROUTE, params)
    except ApiStatusError as exc:
        if exc.status == 403:
            return None
        raise
    return client.parse(CONSUMPTION_ROUTE, parse_consumption_projects, data)


def usage_of(view: View) -> Mapping[str, Usage]:
    return cast(Mapping[str, Usage], view.of(NAME))


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


class UsageCollector(SnapshotCollector):
    def __init__(self, view: ViewSource) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        view = self.view()
        usage_by_project = usage_of(view)
        if not usage_by_project:  # nothing fetched yet
            return
        families = {
            name: GaugeMetricFamily(
                f"neon_project_{name}",
                f"{_HELP[name]}, as last polled; resets each period.",
                labels=["project_id"],
            )
            for name in USAGE_FIELDS
        }
        for pid, usage in usage_by_project.items():
            for name, family in families.items():
                value = getattr(usage, name)
                if value is not None:
                    family.add_metric([pid], value)
        yield from families.values()


AREA = Area(
    name=NAME,
    default=False,
    help="billing-period usage per project (every --collector.usage.interval)",
    cost="1 request per 100 projects per usage interval from consumption history; where the "
    "plan has none (403), 1 request per project per usage interval",
    collector=UsageCollector,
    fetch=fetch,
    interval_setting="usage_interval",
    batch=fetch_batch,
    batch_size=CONSUMPTION_BATCH,
    batch_route=CONSUMPTION_ROUTE,
)
