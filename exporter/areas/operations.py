"""Operations: ``GET /projects/{project_id}/operations`` (``--collector.operations``, off by
default; v2 only), one request per project per refresh (the latest page only), spent in the
budgeted rotation, changed projects first.

Neon lists a project's operations newest first; only the latest page (``limit=100``) is read,
never the older pages, so the cost stays one request and the series stay bounded:

- failed operations (status ``failed``) whose last update is within ``RECENT_SECONDS``, at most
  ``MAX_FAILED`` per project (the newest): one series each, its time and action;
- failed operations of that window counted by action;
- the oldest operation still in progress (``scheduling``, ``running``, ``error``: failed and to
  be retried, ``cancelling``), by its creation time.

Neon's ``error`` text is free text: it is never a label. The exporter logs it once per failed
operation (``neon operation failed``, with project, operation id and action); the runbook shows
how to read it from Neon by the ``operation_id`` label.

Sample::

    neon_operation_failed_timestamp_seconds{action="start_compute",operation_id="0b9c6f3c-...",project_id="shiny-wind-028834"} 1.7e+09
    neon_project_operations_failed{action="start_compute",project_id="shiny-wind-028834"} 1.0
    neon_project_operation_oldest_running_timestamp_seconds{project_id="shiny-wind-028834"} 1.7e+09
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable

import structlog

from ..exposition.family import Family, ProjectData, Sample, one
from ..neon.client import NeonClient
from ..neon.operations import (
    FAILED,
    MAX_FAILED,
    RECENT_SECONDS,
    Operation,
    Operations,
    parse_operations,
    summarize,
)
from .base import Area

log = structlog.get_logger("exporter.areas.operations")

NAME = "operations"
ROUTE = "/projects/{project_id}/operations"
PAGE_LIMIT = 100  # the latest page: operations a project made recently, never its history


class _Reported:
    """Failed operations already logged, so each is logged once per process (bounded)."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, operation_id: str) -> bool:
        if operation_id in self.ids:
            return False
        self.ids[operation_id] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True


_reported = _Reported()


def _log_failures(project_id: str, operations: Iterable[Operation], now: float) -> None:
    for o in operations:
        if (
            o.status == FAILED
            and now - o.updated_at <= RECENT_SECONDS
            and _reported.first_time(o.id)
        ):
            log.warning(
                "neon operation failed",
                project_id=project_id,
                operation_id=o.id,
                action=o.action,
                error=o.error[:500],
            )


async def fetch(client: NeonClient, project_id: str) -> Operations:
    """The latest page of a project's operations, summarized. A 404 fails the area for this
    project (it keeps its last data), never drops the project: the project list decides that."""
    path = f"/projects/{project_id}/operations"
    data = await client.get(ROUTE, path, {"limit": str(PAGE_LIMIT)})
    operations = client.parse(ROUTE, parse_operations, data)
    now = time.time()  # Neon's times are wall-clock times
    _log_failures(project_id, operations, now)
    return summarize(operations, now)


def _failed(d: ProjectData) -> Iterable[Sample]:
    ops: Operations | None = d.of(NAME)
    return () if ops is None else [((d.id, f.id, f.action), f.at) for f in ops.failed]


def _failed_by_action(d: ProjectData) -> Iterable[Sample]:
    ops: Operations | None = d.of(NAME)
    return () if ops is None else [((d.id, a), float(n)) for a, n in ops.failed_by_action]


def _oldest_running(d: ProjectData) -> Iterable[Sample]:
    ops: Operations | None = d.of(NAME)
    return () if ops is None else one(ops.oldest_running, d.id)


FAMILIES: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_operation_failed_timestamp_seconds",
        "Unix time a recently failed Neon operation was last updated (failed), as last "
        f"polled; the newest {MAX_FAILED} per project of the last "
        f"{RECENT_SECONDS / 3600:g} h in the latest page.",
        ("project_id", "operation_id", "action"),
        _failed,
    ),
    Family(
        "neon_project_operations_failed",
        f"Failed operations of the last {RECENT_SECONDS / 3600:g} h in the project's latest "
        f"{PAGE_LIMIT} operations, by action, as last polled.",
        ("project_id", "action"),
        _failed_by_action,
    ),
    Family(
        "neon_project_operation_oldest_running_timestamp_seconds",
        "Unix time the project's oldest operation still in progress was created, as last "
        "polled; absent when none is.",
        ("project_id",),
        _oldest_running,
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="failed and long-running operations per project (latest page)",
    cost="1 request per project per refresh, in the budgeted rotation",
    families=FAMILIES,
    fetch=fetch,
)
