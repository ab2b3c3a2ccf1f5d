"""The project list: ``GET /projects`` pages (400 a page), fetched by every poll.

Its failure is the one that fails a poll. Per-project series come from the merged view of every
key's last good poll; v2 state and pooler derive from the endpoints area when it has them.

Sample::

    # HELP neon_project_info Neon project metadata (polled from the Neon API); always 1.
    # TYPE neon_project_info gauge
    neon_project_info{org_id="",pg_version="15",platform_id="aws",project_id="wispy-sea-654321",project_name="wispy-sea-654321",region_id="aws-us-west-2"} 1.0
    neon_project_size_bytes{project_id="wispy-sea-654321"} 0.0
    neon_project_state{project_id="wispy-sea-654321",state="idle"} 1.0
    neon_project_pooler_enabled{project_id="wispy-sea-654321"} 0.0
    neon_project_pg_version{project_id="wispy-sea-654321"} 15.0
    neon_projects{key="prod"} 1.0
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from ..collectors.base import SnapshotCollector, ViewSource
from ..neon.models import STATES, derive_pooler, derive_state
from .base import Area
from .endpoints import endpoints_of


class ProjectCollector(SnapshotCollector):
    def __init__(self, view: ViewSource) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        view = self.view()
        info = InfoMetricFamily(
            "neon_project",
            "Neon project metadata (polled from the Neon API); always 1.",
            labels=[
                "project_id",
                "project_name",
                "region_id",
                "platform_id",
                "org_id",
                "pg_version",
            ],
        )
        size = GaugeMetricFamily(
            "neon_project_size_bytes",
            "Project storage size in bytes (v2 synthetic_storage_size, v1 size), as last polled.",
            labels=["project_id"],
        )
        state = GaugeMetricFamily(
            "neon_project_state",
            "Project state as last polled: 1 for the current state (v2: derived from endpoints).",
            labels=["project_id", "state"],
        )
        pooler = GaugeMetricFamily(
            "neon_project_pooler_enabled",
            "1 if connection pooling is enabled (v2: on any endpoint), as last polled.",
            labels=["project_id"],
        )
        pg = GaugeMetricFamily(
            "neon_project_pg_version",
            "Postgres major version of the project, as last polled.",
            labels=["project_id"],
        )
        for pid, p in view.projects.items():
            info.add_metric(
                [pid, p.name, p.region_id, p.platform_id, p.org_id, str(p.pg_version)], {}
            )
            pg.add_metric([pid], p.pg_version)
            if p.size_bytes is not None:
                size.add_metric([pid], p.size_bytes)
            current, pooled = p.state, p.pooler_enabled
            eps = endpoints_of(view).get(pid)
            if eps is not None:
                current, pooled = derive_state(eps), derive_pooler(eps)
            if current is not None:
                for s in STATES:
                    state.add_metric([pid, s], 1.0 if s == current else 0.0)
            if pooled is not None:
                pooler.add_metric([pid], 1.0 if pooled else 0.0)
        count = GaugeMetricFamily(
            "neon_projects",
            "Projects seen by this key in its last good poll.",
            labels=["key"],
        )
        for key, n in view.projects_per_key.items():
            count.add_metric([key], n)
        yield from (info, size, state, pooler, pg, count)


AREA = Area(
    name="projects",
    default=True,
    help="the project list (always on: every other area hangs off it)",
    cost="ceil(projects / 400) requests per list fetch (every poll while that is under a tenth "
    "of the budget)",
    collector=ProjectCollector,
)
