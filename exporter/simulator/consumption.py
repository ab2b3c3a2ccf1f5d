"""The consumption history route (``GET /consumption_history/projects``) and its time frames."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from exporter.simulator.api import error_response
from exporter.simulator.model import utcnow
from exporter.simulator.renderings import consumption_json
from exporter.simulator.world import World

MAX_CONSUMPTION_LIMIT = 100
DEFAULT_CONSUMPTION_METRICS = (
    "active_time_seconds",
    "compute_time_seconds",
    "written_data_bytes",
    "synthetic_storage_size_bytes",
)
GRANULARITIES = ("hourly", "daily", "monthly")
CONSUMPTION_METRICS = (
    *DEFAULT_CONSUMPTION_METRICS,
    "data_storage_bytes_hour",
    "logical_size_bytes",
    "logical_size_bytes_hour",
)
# How far back each granularity reaches, and where the history starts (the document's 406).
HISTORY_REACH = {
    "hourly": timedelta(hours=168),
    "daily": timedelta(days=60),
    "monthly": timedelta(days=366),
}
HISTORY_START = datetime(2024, 3, 1, tzinfo=UTC)
Frame = tuple[datetime, datetime]
NOT_ON_PLAN = (
    "This endpoint is not available. It is only supported with Scale, Business, "
    "and Enterprise plan accounts."
)


def listed(q: MultiMapping[str], name: str) -> list[str]:
    """A list parameter, given repeated or comma-separated."""
    return [item for value in q.getall(name, []) for item in value.split(",") if item]


@dataclass(frozen=True)
class _Query:
    granularity: str
    since: datetime  # rounded down to the granularity, as Neon does
    until: datetime
    limit: int
    ids: list[str]
    metrics: list[str]


def _parse(world: World, q: MultiMapping[str]) -> _Query | web.Response:
    """The query, or the 400 or 404 that Neon answers to a bad one."""
    granularity = q.get("granularity")
    if granularity not in GRANULARITIES:
        return error_response(400, "granularity: one of hourly, daily, monthly")
    try:
        since = round_down(parse_time(q["from"]), granularity)
        until = round_down(parse_time(q["to"]), granularity)
        limit = int(q.get("limit") or 10)
    except (KeyError, ValueError):
        return error_response(400, "from, to: RFC 3339 date-times; limit: an integer")
    if not 1 <= limit <= MAX_CONSUMPTION_LIMIT:
        return error_response(400, f"limit: must be between 1 and {MAX_CONSUMPTION_LIMIT}")
    ids = listed(q, "project_ids")
    if len(ids) > MAX_CONSUMPTION_LIMIT:
        return error_response(400, f"project_ids: at most {MAX_CONSUMPTION_LIMIT}")
    metrics = listed(q, "metrics")
    unknown = sorted(set(metrics) - set(CONSUMPTION_METRICS))
    if unknown:
        return error_response(400, f"metrics: unknown {', '.join(unknown)}")
    org_id = q.get("org_id") or None
    if org_id is not None and org_id not in world.org_ids():
        return error_response(404, "account is not a member of the organization")
    return _Query(granularity, since, until, limit, ids, metrics)


async def v2_consumption(
    world: World, request: web.Request, key_name: str, on_plan: bool
) -> web.StreamResponse:
    """``on_plan``: whether the account's plan includes this API (Neon answers 403 below Scale)."""
    if not on_plan:
        return error_response(403, NOT_ON_PLAN)
    query = _parse(world, request.query)
    if isinstance(query, web.Response):
        return query
    now = utcnow()
    granularity = query.granularity
    if query.since < max(HISTORY_START, now - HISTORY_REACH[granularity]):
        return error_response(
            406, f"from: outside the {granularity} history (see the granularity's limits)"
        )
    # The timeframe that holds "now", included only if the rounded [from, to) covers its
    # start: a query ending now rounds down past it and misses the current period.
    frame_start = round_down(now, granularity)
    frame_end = next_start(frame_start, granularity)
    frame = (frame_start, frame_end) if query.since <= frame_start < query.until else None
    cursor = request.query.get("cursor") or ""
    metrics = query.metrics or DEFAULT_CONSUMPTION_METRICS
    out = []
    for pid in query.ids or world.sorted_ids:
        project = world.visible_project(pid, key_name)
        if project is None or (pid <= cursor and not query.ids):
            continue
        out.append(consumption_json(project, metrics, frame, now))
        if len(out) >= query.limit:
            break
    body: dict[str, Any] = {"projects": out}
    if out:
        body["pagination"] = {"cursor": out[-1]["project_id"]}
    return web.json_response(body)


def parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("date-time without a time zone")
    return when.astimezone(UTC)


def round_down(when: datetime, granularity: str) -> datetime:
    """Round down to the granularity, as Neon does with ``from`` and ``to``."""
    when = when.replace(minute=0, second=0, microsecond=0)
    if granularity in ("daily", "monthly"):
        when = when.replace(hour=0)
    if granularity == "monthly":
        when = when.replace(day=1)
    return when


def next_start(start: datetime, granularity: str) -> datetime:
    if granularity == "hourly":
        return start + timedelta(hours=1)
    if granularity == "daily":
        return start + timedelta(days=1)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def current_frame(q: MultiMapping[str], granularity: str, now: datetime) -> Frame | None:
    """The timeframe ``now`` falls in, when the query's ``from``/``to`` (rounded down to the
    granularity, as Neon does) reach it; None otherwise. Raises on an unreadable time."""
    since = round_down(parse_time(q["from"]), granularity)
    until = round_down(parse_time(q["to"]), granularity)
    start = round_down(now, granularity)
    return (start, next_start(start, granularity)) if since <= start < until else None
