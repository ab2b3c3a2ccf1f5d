"""Deleted projects that can still be restored: ``GET /projects?recoverable=true``
(``--collector.recoverable``, off by default; v2 only), one request per 400 deleted projects
per key, every ``--collector.recoverable.interval`` (1h by default).

Deleted projects never look live: they are not in ``neon_project_*``; they have series of
their own, with both times, so an alert can warn before one can no longer be restored.

Sample::

    neon_deleted_project_info{org_id="",project_id="old-sun-123456",project_name="old-sun",region_id="aws-us-east-2"} 1.0
    neon_deleted_project_deleted_timestamp_seconds{project_id="old-sun-123456"} 1.7e+09
    neon_deleted_project_recoverable_until_timestamp_seconds{project_id="old-sun-123456"} 1.7006e+09
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, cast

from ..exposition.family import Family, Sample, info, one
from ..neon.client import NeonClient
from ..neon.models import Project
from .base import Area

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

NAME = "recoverable"


async def fetch(client: NeonClient) -> tuple[Project, ...]:
    """Every deleted project the key can still restore."""
    out: dict[str, Project] = {}
    async for page in client.project_pages(which="recoverable"):
        out.update((p.id, p) for p in page.projects if p.deleted_at is not None)
    return tuple(out.values())


def deleted_of(view: View) -> dict[str, Project]:
    """Deleted projects over keys, each once; none that is also live (restored meanwhile)."""
    per_key = cast(Mapping[str, tuple[Project, ...]], view.per_key(NAME))
    return {p.id: p for projects in per_key.values() for p in projects if p.id not in view.projects}


def _deleted(
    value: Callable[[str, Project], Iterable[Sample]],
) -> Callable[[View], Iterable[Sample]]:
    """Samples of every deleted project, by id."""
    return lambda view: (s for pid, p in sorted(deleted_of(view).items()) for s in value(pid, p))


VIEW_FAMILIES: tuple[Family[View], ...] = (
    Family(
        "neon_deleted_project_info",
        "A deleted Neon project that can still be restored (polled); always 1.",
        ("project_id", "project_name", "region_id", "org_id"),
        _deleted(lambda pid, p: info(pid, p.name, p.region_id, p.org_id)),
        kind="info",
    ),
    Family(
        "neon_deleted_project_deleted_timestamp_seconds",
        "Unix time the project was deleted, as last polled.",
        ("project_id",),
        _deleted(lambda pid, p: one(p.deleted_at, pid)),
    ),
    Family(
        "neon_deleted_project_recoverable_until_timestamp_seconds",
        "Unix time after which the deleted project can no longer be restored, as last polled.",
        ("project_id",),
        _deleted(lambda pid, p: one(p.recoverable_until, pid)),
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="deleted projects that can still be restored (every --collector.recoverable.interval, hourly by default)",
    cost="ceil(deleted projects / 400) requests per key per interval (one for most accounts)",
    view_families=VIEW_FAMILIES,
    fetch_account=fetch,
    on_interval=True,
    lists_projects=True,
)
