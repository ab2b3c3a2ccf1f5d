"""Projects other accounts share with the key's account: ``GET /projects/shared``
(``--collector.shared``, off by default; v2 only), one request per 400 shared projects per key,
every ``--collector.shared.interval`` (1h by default).

Shared projects are not the account's own: they never appear in ``neon_project_*`` (so counts
and sums of owned projects stay right) but in series of their own. A project one configured key
owns and another has shared with it is shown as owned only.

Sample::

    neon_shared_project_info{org_id="org-partner-40000000",permission="CAN_VIEW",pg_version="17",project_id="calm-sea-123456",project_name="calm-sea",region_id="aws-eu-central-1"} 1.0
    neon_shared_project_size_bytes{project_id="calm-sea-123456"} 1.048576e+07
    neon_shared_projects{key="prod"} 1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from ..collectors.base import SnapshotCollector, ViewSource
from ..neon.client import NeonClient
from ..neon.models import Project
from ..state import View
from .base import Area

NAME = "shared"


async def fetch(client: NeonClient) -> tuple[Project, ...]:
    """Every project shared with the key's account (v1 has no such list: none)."""
    if client.version == "v1":
        return ()
    out: dict[str, Project] = {}
    async for page in client.project_pages(which="shared"):
        out.update((p.id, p) for p in page.projects)
    return tuple(out.values())


def shared_of(view: View) -> dict[str, Project]:
    """Shared projects over keys, each once; none that a configured key owns (live)."""
    per_key = cast(Mapping[str, tuple[Project, ...]], view.per_key(NAME))
    return {p.id: p for projects in per_key.values() for p in projects if p.id not in view.projects}


class SharedProjectCollector(SnapshotCollector):
    def __init__(self, view: ViewSource) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        view = self.view()
        per_key = cast(Mapping[str, tuple[Project, ...]], view.per_key(NAME))
        if not per_key:
            return
        info = InfoMetricFamily(
            "neon_shared_project",
            "A Neon project another account shares with a key's account (polled; not one of "
            "neon_project_*); always 1.",
            labels=[
                "project_id",
                "project_name",
                "region_id",
                "org_id",
                "pg_version",
                "permission",
            ],
        )
        size = GaugeMetricFamily(
            "neon_shared_project_size_bytes",
            "Storage size of the shared project in bytes (synthetic_storage_size), as last polled.",
            labels=["project_id"],
        )
        for pid, p in sorted(shared_of(view).items()):
            info.add_metric(
                [pid, p.name, p.region_id, p.org_id, str(p.pg_version), p.permission], {}
            )
            if p.size_bytes is not None:
                size.add_metric([pid], p.size_bytes)
        count = GaugeMetricFamily(
            "neon_shared_projects",
            "Projects other accounts share with this key's account, in its last good list.",
            labels=["key"],
        )
        for key, projects in sorted(per_key.items()):
            count.add_metric([key], len(projects))
        yield from (info, size, count)


AREA = Area(
    name=NAME,
    default=False,
    help="projects other accounts share with the key's account (every --collector.shared.interval, hourly by default)",
    cost="ceil(shared projects / 400) requests per key per interval (one for most accounts)",
    collector=SharedProjectCollector,
    fetch_account=fetch,
    interval_setting=f"{NAME}_interval",
    lists_projects=True,
)
