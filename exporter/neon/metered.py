"""Usage on today's usage-based plans: the model and parser of ``GET
/consumption_history/v2/projects`` (its answer carries ``metrics[]`` of ``{metric_name,
value}`` per timeframe, unlike the legacy route's named fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .fields import ParseError

METRICS = (
    "compute_unit_seconds",
    "root_branch_bytes_month",
    "child_branch_bytes_month",
    "instant_restore_bytes_month",
    "public_network_transfer_bytes",
    "private_network_transfer_bytes",
    "extra_branches_month",
    "snapshot_storage_bytes_month",
)
"""Every metric the route offers, in the document's order: all are asked for, one request."""


@dataclass(frozen=True, slots=True)
class MeteredUsage:
    """A project's usage in the current billing period on a usage-based plan: Neon's metric
    name -> value, only the metrics Neon reported (a metric missing is absent, never 0)."""

    values: tuple[tuple[str, float], ...]

    def get(self, metric: str) -> float | None:
        return dict(self.values).get(metric)


@dataclass(frozen=True, slots=True)
class MeteredPage:
    usage: dict[str, MeteredUsage]
    cursor: str | None
    count: int  # projects in the page, malformed ones included
    skipped: int


def _timestamp_key(period: dict[str, Any]) -> str:
    # RFC 3339 in UTC with a Z, as Neon writes them: ordered as text.
    value = period.get("period_start")
    return value if isinstance(value, str) else ""


def _current_period(item: object) -> MeteredUsage:
    """The latest billing period's timeframes, summed per metric."""
    if not isinstance(item, dict) or not isinstance(item.get("periods"), list):
        raise ValueError("periods")
    periods = [p for p in item["periods"] if isinstance(p, dict) and _timestamp_key(p)]
    if not periods:
        return MeteredUsage(())
    frames = max(periods, key=_timestamp_key).get("consumption")
    if not isinstance(frames, list):
        raise ValueError("consumption")
    sums: dict[str, float] = {}
    for frame in frames:
        metrics = frame.get("metrics") if isinstance(frame, dict) else None
        for m in metrics if isinstance(metrics, list) else ():
            name, value = (m.get("metric_name"), m.get("value")) if isinstance(m, dict) else (0, 0)
            if (
                isinstance(name, str)
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            ):
                sums[name] = sums.get(name, 0.0) + float(value)
    return MeteredUsage(tuple(sorted(sums.items())))


def parse_metered_page(data: object) -> MeteredPage:
    """One page of ``GET /consumption_history/v2/projects``; a project item without an id or
    periods is skipped (and counted), the rest still count."""
    if not isinstance(data, dict) or not isinstance(data.get("projects"), list):
        raise ParseError("missing array 'projects'")
    usage: dict[str, MeteredUsage] = {}
    skipped = 0
    for item in data["projects"]:
        pid = item.get("project_id") if isinstance(item, dict) else None
        try:
            if not isinstance(pid, str) or not pid:
                raise ValueError("project_id")
            usage[pid] = _current_period(item)
        except ValueError:
            skipped += 1
    pagination = data.get("pagination")
    cursor = pagination.get("cursor") if isinstance(pagination, dict) else None
    return MeteredPage(
        usage,
        cursor if isinstance(cursor, str) and cursor else None,
        len(data["projects"]),
        skipped,
    )
