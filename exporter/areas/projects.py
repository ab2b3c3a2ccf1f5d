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
    neon_project_quota_active_time_seconds{project_id="wispy-sea-654321"} 36000.0
    neon_project_quota_reset_timestamp_seconds{project_id="wispy-sea-654321"} 1.738368e+09
    neon_project_maintenance_starts_timestamp_seconds{project_id="wispy-sea-654321"} 1.737342e+09
    neon_project_history_retention_seconds{project_id="wispy-sea-654321"} 604800.0
    neon_project_period_active_time_seconds{project_id="wispy-sea-654321"} 750111.0

Quotas, maintenance, history retention and active time ride on the list (v2): no request of
their own. A quota limit of zero (unlimited) has no series; a field Neon does not send has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from ..collectors.base import SnapshotCollector, ViewSource
from ..neon.models import QUOTA_FIELDS, STATES, Project, derive_pooler, derive_state
from ..state import View
from .base import Area
from .endpoints import endpoints_of


def projects_per_key(view: View) -> GaugeMetricFamily:
    """``neon_projects{key}``: served in either --metrics.mode."""
    count = GaugeMetricFamily(
        "neon_projects", "Projects seen by this key in its last good poll.", labels=["key"]
    )
    for key, n in view.projects_per_key.items():
        count.add_metric([key], n)
    return count


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
        yield from (info, size, state, pooler, pg, projects_per_key(view))
        yield from list_extras(view.projects)


QUOTA_HELP = {
    "active_time_seconds": "wall-clock seconds the project's computes may be active",
    "compute_time_seconds": "CPU seconds the project's computes may use",
    "written_data_bytes": "bytes the project may write",
    "data_transfer_bytes": "bytes the project may transfer out through the proxy",
    "logical_size_bytes": "logical size each branch of the project may reach",
}


def _gauge(name: str, help_text: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, labels=["project_id"])


def list_extras(projects: Mapping[str, Project]) -> Iterable[Metric]:
    """Quota limits, quota reset and maintenance times, history retention and this period's
    active time: fields of the list items, absent where Neon does not send them."""
    quotas = {
        name: _gauge(
            f"neon_project_quota_{name}",
            f"Quota: {QUOTA_HELP[name]} per billing period (logical size: at any time); Neon "
            "suspends the project's computes at it. Absent when unlimited.",
        )
        for name in QUOTA_FIELDS
    }
    reset = _gauge(
        "neon_project_quota_reset_timestamp_seconds",
        "Unix time the project's quota usage resets (Neon's deprecated quota_reset_at).",
    )
    maintenance = _gauge(
        "neon_project_maintenance_starts_timestamp_seconds",
        "Unix time Neon places the project in maintenance mode; absent when none is scheduled.",
    )
    retention = _gauge(
        "neon_project_history_retention_seconds",
        "How far back the project's history is kept: the window branches can be restored in.",
    )
    active = _gauge(
        "neon_project_period_active_time_seconds",
        "Wall-clock seconds the project's computes were active this billing period (the "
        "list's active_time; what the active time quota counts), as last polled.",
    )
    for pid, p in projects.items():
        if p.quota is not None:
            for name, family in quotas.items():
                limit = getattr(p.quota, name)
                if limit is not None:
                    family.add_metric([pid], limit)
        for family, value in (
            (reset, p.quota_reset_at),
            (maintenance, p.maintenance_starts_at),
            (retention, p.history_retention_seconds),
            (active, p.active_time_seconds),
        ):
            if value is not None:
                family.add_metric([pid], value)
    # Only families with samples: a v1 key, or an account without quotas, shows none of them.
    families = (*quotas.values(), reset, maintenance, retention, active)
    yield from (f for f in families if f.samples)


AREA = Area(
    name="projects",
    default=True,
    help="the project list (always on: every other area hangs off it)",
    cost="ceil(projects / 400) requests per list fetch (every poll while that is under a tenth "
    "of the budget)",
    collector=ProjectCollector,
)
