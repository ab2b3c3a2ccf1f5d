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
    neon_project_quota_active_time_seconds{project_id="wispy-sea-654321"} 36000.0
    neon_project_quota_reset_timestamp_seconds{project_id="wispy-sea-654321"} 1.738368e+09
    neon_project_maintenance_starts_timestamp_seconds{project_id="wispy-sea-654321"} 1.737342e+09
    neon_project_history_retention_seconds{project_id="wispy-sea-654321"} 604800.0
    neon_project_period_active_time_seconds{project_id="wispy-sea-654321"} 750111.0
    neon_projects{key="prod"} 1.0

Quotas, maintenance, history retention and active time ride on the list (v2): no request of
their own. A quota limit of zero (unlimited) has no series; a field Neon does not send has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..exposition.family import Family, ProjectData, Sample, flag, info, one
from ..neon.models import QUOTA_FIELDS, STATES, derive_pooler, derive_state
from .base import Area
from .endpoints import NAME as ENDPOINTS

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

_P = ("project_id",)


def project_state(d: ProjectData) -> str | None:
    """v1: the project's own; v2: derived from its endpoints once they are fetched."""
    endpoints = d.of(ENDPOINTS)
    return derive_state(endpoints) if endpoints is not None else d.project.state


def _pooler(d: ProjectData) -> bool | None:
    endpoints = d.of(ENDPOINTS)
    return derive_pooler(endpoints) if endpoints is not None else d.project.pooler_enabled


def _state(d: ProjectData) -> Iterable[Sample]:
    current = project_state(d)
    if current is None:
        return ()
    return (((d.id, s), 1.0 if s == current else 0.0) for s in STATES)


def _info(d: ProjectData) -> Iterable[Sample]:
    p = d.project
    return info(d.id, p.name, p.region_id, p.platform_id, p.org_id, str(p.pg_version))


QUOTA_HELP = {
    "active_time_seconds": "wall-clock seconds the project's computes may be active",
    "compute_time_seconds": "CPU seconds the project's computes may use",
    "written_data_bytes": "bytes the project may write",
    "data_transfer_bytes": "bytes the project may transfer out through the proxy",
    "logical_size_bytes": "logical size each branch of the project may reach",
}


def _quota(name: str) -> Family[ProjectData]:
    def samples(d: ProjectData) -> Iterable[Sample]:
        quota = d.project.quota
        return () if quota is None else one(getattr(quota, name), d.id)

    return Family(
        f"neon_project_quota_{name}",
        f"Quota: {QUOTA_HELP[name]} per billing period (logical size: at any time); Neon "
        "suspends the project's computes at it. Absent when unlimited.",
        _P,
        samples,
    )


FAMILIES: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_project_info",
        "Neon project metadata (polled from the Neon API); always 1.",
        ("project_id", "project_name", "region_id", "platform_id", "org_id", "pg_version"),
        _info,
        kind="info",
    ),
    Family(
        "neon_project_size_bytes",
        "Project storage size in bytes (v2 synthetic_storage_size, v1 size), as last polled.",
        _P,
        lambda d: one(d.project.size_bytes, d.id),
    ),
    Family(
        "neon_project_state",
        "Project state as last polled: 1 for the current state (v2: derived from endpoints).",
        ("project_id", "state"),
        _state,
    ),
    Family(
        "neon_project_pooler_enabled",
        "1 if connection pooling is enabled (v2: on any endpoint), as last polled.",
        _P,
        lambda d: flag(_pooler(d), d.id),
    ),
    Family(
        "neon_project_pg_version",
        "Postgres major version of the project, as last polled.",
        _P,
        lambda d: one(d.project.pg_version, d.id),
    ),
    # Fields of the list items (v2): no request of their own; absent where Neon sends none.
    *(_quota(name) for name in QUOTA_FIELDS),
    Family(
        "neon_project_quota_reset_timestamp_seconds",
        "Unix time the project's quota usage resets (Neon's deprecated quota_reset_at).",
        _P,
        lambda d: one(d.project.quota_reset_at, d.id),
    ),
    Family(
        "neon_project_maintenance_starts_timestamp_seconds",
        "Unix time Neon places the project in maintenance mode; absent when none is scheduled.",
        _P,
        lambda d: one(d.project.maintenance_starts_at, d.id),
    ),
    Family(
        "neon_project_history_retention_seconds",
        "How far back the project's history is kept: the window branches can be restored in.",
        _P,
        lambda d: one(d.project.history_retention_seconds, d.id),
    ),
    Family(
        "neon_project_period_active_time_seconds",
        "Wall-clock seconds the project's computes were active this billing period (the "
        "list's active_time; what the active time quota counts), as last polled.",
        _P,
        lambda d: one(d.project.active_time_seconds, d.id),
    ),
    Family(
        "neon_project_integration_info",
        "An integration installed on the project (the list's integrations and applications "
        "maps: vercel, github, datadog, opentelemetry), as last polled; always 1.",
        ("project_id", "integration"),
        lambda d: (((d.id, name), 1.0) for name in d.project.integrations),
        kind="info",
    ),
)

PROJECTS_PER_KEY: Family[View] = Family(
    "neon_projects",
    "Projects seen by this key in its last good poll.",
    ("key",),
    lambda v: (((key,), float(n)) for key, n in sorted(v.projects_per_key.items())),
)
"""Served in either --metrics.mode."""

# Size buckets (bytes) of --metrics.mode=aggregate: 10 MiB, 100 MiB, 1 GiB, 10 GiB, 100 GiB,
# 1 TiB and all.
SIZE_BUCKETS = (10 * 2**20, 100 * 2**20, 2**30, 10 * 2**30, 100 * 2**30, 2**40, float("inf"))


def _by_size(d: ProjectData) -> Iterable[Sample]:
    size = d.project.size_bytes
    if size is None:
        return ()
    return ((("+Inf" if b == float("inf") else str(b),), float(size <= b)) for b in SIZE_BUCKETS)


SUMS: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_aggregate_projects",
        "Projects by region, Postgres version and state (unknown: not yet fetched), as "
        "last polled.",
        ("region_id", "pg_version", "state"),
        lambda d: (
            ((d.project.region_id, str(d.project.pg_version), project_state(d) or "unknown"), 1.0),
        ),
    ),
    Family(
        "neon_aggregate_project_size_bytes",
        "Sum of the projects' storage size by region and Postgres version, as last polled.",
        ("region_id", "pg_version"),
        lambda d: one(d.project.size_bytes, d.project.region_id, str(d.project.pg_version)),
    ),
    Family(
        "neon_aggregate_projects_by_size",
        "Projects whose storage size (bytes) is at most le, as last polled.",
        ("le",),
        _by_size,
    ),
    Family(
        "neon_aggregate_project_integrations",
        "Projects with each integration installed (the list's integrations and applications "
        "maps), as last polled.",
        ("integration",),
        lambda d: (((name,), 1.0) for name in d.project.integrations),
    ),
)


AREA = Area(
    name="projects",
    default=True,
    help="the project list (always on: every other area hangs off it)",
    cost="ceil(projects / 400) requests per list fetch (every poll while that is under a tenth "
    "of the budget)",
    families=FAMILIES,
    view_families=(PROJECTS_PER_KEY,),
    sums=SUMS,
)
