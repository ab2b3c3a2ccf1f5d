"""Database advisor findings: ``GET /projects/{project_id}/advisors`` (``--collector.advisors``,
off by default; v2 only; alpha at Neon), refreshed hourly per project: issue counts by level and
category, of the project's default branch.

Neon analyses a project only where its Data API is enabled (and, on a branch with several
databases, only when told which one). Its document does not say what it answers elsewhere, so
any refusal of the project (400, 403, 404, 409, 412, 422) means "not analysable":
``neon_project_advisors_available`` 0 and no counts, the area still succeeds and nothing is
logged at every poll. Only a failure of the route itself (5xx, timeouts, retries spent, a body
of the wrong shape) fails the area for that project, which then keeps its last counts.

A level or category outside the document's (``ERROR``, ``WARN``, ``INFO``; ``SECURITY``,
``PERFORMANCE``) counts as ``other``; an issue in two categories counts in both. Only non-zero
counts have a series.

Sample::

    neon_project_advisors_available{project_id="shiny-wind-028834"} 1.0
    neon_project_advisor_issues{category="security",level="error",project_id="shiny-wind-028834"} 2.0
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..exposition.family import Family, ProjectData, Sample, flag
from ..neon.client import NeonClient
from ..neon.fields import BadItem, parse_items
from .base import Area

NAME = "advisors"
ROUTE = "/projects/{project_id}/advisors"
LEVELS = ("error", "warn", "info")
CATEGORIES = ("security", "performance")
NOT_ANALYSABLE = frozenset({400, 403, 404, 409, 412, 422})


@dataclass(frozen=True, slots=True)
class Advisors:
    available: bool
    counts: tuple[tuple[str, str, int], ...] = ()  # (level, category, issues), sorted


def _issue(item: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    level = item.get("level")
    categories = item.get("categories")
    if not isinstance(level, str) or not isinstance(categories, list):
        raise BadItem("level")
    level = level.lower() if level.lower() in LEVELS else "other"
    named = {c.lower() for c in categories if isinstance(c, str)}
    return level, tuple(sorted(c if c in CATEGORIES else "other" for c in named))


def parse_advisors(data: object) -> tuple[Advisors, int]:
    """The ``issues`` of an advisors answer, counted by level and category."""
    issues, skipped = parse_items(data, "issues", _issue)
    counts = Counter((level, c) for level, categories in issues for c in categories)
    return Advisors(True, tuple((lv, c, n) for (lv, c), n in sorted(counts.items()))), skipped


async def fetch(client: NeonClient, project_id: str) -> Advisors:
    # NOT_ANALYSABLE: no Data API, not on the plan, no such project.
    data = await client.get_unless(ROUTE, f"/projects/{project_id}/advisors", absent=NOT_ANALYSABLE)
    return Advisors(False) if data is None else client.parse(ROUTE, parse_advisors, data)


def _counts(d: ProjectData) -> Iterable[Sample]:
    advisors: Advisors | None = d.of(NAME)
    for level, category, n in advisors.counts if advisors else ():
        yield (d.id, level, category), float(n)


FAMILIES: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_project_advisors_available",
        "1 if Neon's database advisor analysed the project's default branch, 0 if it would "
        "not (no Data API, or not on the plan), as last polled.",
        ("project_id",),
        lambda d: flag(a.available if (a := d.of(NAME)) else None, d.id),
    ),
    Family(
        "neon_project_advisor_issues",
        "Database advisor issues of the project's default branch by level (error, warn, "
        "info) and category (security, performance), as last polled; absent when none.",
        ("project_id", "level", "category"),
        _counts,
    ),
)


SUMS: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_aggregate_advisor_issues",
        "Database advisor issues over every analysed project by level and category, as last "
        "polled.",
        ("level", "category"),
        lambda d: ((labels[1:], n) for labels, n in _counts(d)),
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="database advisor issue counts by level and category (needs the Data API; every --collector.advisors.interval, hourly by default)",
    cost="1 request per project per interval, in the budgeted rotation",
    families=FAMILIES,
    sums=SUMS,
    fetch=fetch,
    on_interval=True,
)
