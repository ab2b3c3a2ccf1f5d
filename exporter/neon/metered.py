"""Usage on today's usage-based plans: the model and parser of ``GET
/consumption_history/v2/projects`` (its answer carries ``metrics[]`` of ``{metric_name,
value}`` per timeframe, unlike the legacy route's named fields).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from .fields import ParseError, page_cursor

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


def current_period(item: object) -> MeteredUsage:
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


def _ids(item: object, fields: tuple[str, ...]) -> tuple[str, ...] | None:
    """The item's ``fields``, each a non-empty string, or None when one is not."""
    values = [item.get(f) for f in fields] if isinstance(item, dict) else []
    texts = tuple(v for v in values if isinstance(v, str) and v)
    return texts if len(texts) == len(fields) else None


Row = tuple[tuple[str, ...], MeteredUsage]  # an item's ids and its current period's usage


def metered_rows(data: object, array: str, ids: tuple[str, ...]) -> tuple[list[Row], int, int]:
    """The items of a consumption history page's ``array``: each one's ``ids`` fields and
    current period; an item without them is skipped and counted, the rest still count. Returns
    the rows, the items in the page (malformed ones included) and those skipped."""
    if not isinstance(data, dict) or not isinstance(data.get(array), list):
        raise ParseError(f"missing array '{array}'")
    rows: list[Row] = []
    for item in data[array]:
        found = _ids(item, ids)
        with contextlib.suppress(ValueError):  # no readable periods: skipped, counted below
            if found is not None:
                rows.append((found, current_period(item)))
    return rows, len(data[array]), len(data[array]) - len(rows)


def parse_metered_page(data: object) -> MeteredPage:
    """One page of ``GET /consumption_history/v2/projects``."""
    rows, count, skipped = metered_rows(data, "projects", ("project_id",))
    assert isinstance(data, dict)
    return MeteredPage({ids[0]: u for ids, u in rows}, page_cursor(data), count, skipped)
