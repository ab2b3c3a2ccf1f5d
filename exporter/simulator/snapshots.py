"""Simulated snapshots and backup schedules: ``GET /projects/{project_id}/snapshots`` and
``GET /projects/{project_id}/branches/{branch_id}/backup_schedule`` as Neon's document describes
them (``Snapshot``, ``BackupSchedule``).

A branch's scheduled snapshots are derived from its schedule and the clock (one per period,
back to the schedule's retention, at most ``MAX_SCHEDULED`` a branch), so a demo that runs for
days keeps taking them; a schedule can be stopped at a time (``stopped_at``), after which no
more are taken, as when snapshots fail. Manual snapshots are added by tests.

The generated world: of the projects there at the start, the default branch of every third has
a daily schedule (7 days kept), of every third from the second an hourly one (a day kept), the
rest no schedule and one manual snapshot two days old; the fourth project's daily schedule
stopped three days ago, so the demo shows an overdue branch.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from exporter.simulator.model import rfc3339, utcnow
from exporter.simulator.world import World

ROUTE = "/projects/{project_id}/snapshots"
SCHEDULE_ROUTE = "/projects/{project_id}/branches/{branch_id}/backup_schedule"
MAX_SCHEDULED = 48
PERIOD = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
    "monthly": timedelta(days=30),
    "yearly": timedelta(days=365),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ApiHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Api = Callable[[str, str, ApiHandler], Handler]


@dataclass
class BranchBackups:
    """One branch's schedule (``BackupScheduleItem`` dicts) and manual snapshots."""

    schedule: list[dict[str, Any]] = field(default_factory=list)
    stopped_at: datetime | None = None
    manual: list[dict[str, Any]] = field(default_factory=list)


def _size(branch_id: str, when: datetime) -> int:
    return 50_000_000 + zlib.crc32(f"{branch_id}{when.isoformat()}".encode()) % 50_000_000


class SimSnapshots:
    """Backups by project and branch; a project or branch not set up has none."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._backups: dict[str, dict[str, BranchBackups]] = {}
        now = utcnow()
        for index, pid in enumerate(world.sorted_ids):
            project = world.projects[pid]
            default = next((b for b in project.branches if b.default), None)
            if default is None:
                continue
            if index % 3 == 2:
                self.add_snapshot(pid, default.id, now - timedelta(days=2), full_size=1 << 26)
                continue
            if index % 3 == 0:
                item = {"frequency": "daily", "hour": 3, "retention_seconds": 7 * 86400}
            else:
                item = {"frequency": "hourly", "retention_seconds": 86400}
            stopped = now - timedelta(days=3) if index == 3 else None
            self.set_schedule(pid, default.id, [item], stopped_at=stopped)

    def branch(self, project_id: str, branch_id: str) -> BranchBackups:
        return self._backups.setdefault(project_id, {}).setdefault(branch_id, BranchBackups())

    def set_schedule(
        self,
        project_id: str,
        branch_id: str,
        schedule: list[dict[str, Any]],
        *,
        stopped_at: datetime | None = None,
    ) -> None:
        """Set a branch's schedule; ``stopped_at``: no scheduled snapshot after that time."""
        backups = self.branch(project_id, branch_id)
        backups.schedule, backups.stopped_at = list(schedule), stopped_at

    def add_snapshot(
        self,
        project_id: str,
        branch_id: str | None,
        created_at: datetime,
        *,
        full_size: int | None = None,
        diff_size: int | None = None,
    ) -> str:
        """A manual snapshot (``branch_id`` None: without ``source_branch_id``); returns its id."""
        backups = self.branch(project_id, branch_id or "")
        snapshot = _snapshot(branch_id, created_at, manual=True, index=len(backups.manual))
        for name, value in (("full_size", full_size), ("diff_size", diff_size)):
            if value is not None:
                snapshot[name] = value
        backups.manual.append(snapshot)
        return str(snapshot["id"])

    def snapshots(self, project_id: str, now: datetime) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for branch_id, backups in self._backups.get(project_id, {}).items():
            out.extend(backups.manual)
            for item in backups.schedule:
                out.extend(_scheduled(branch_id, item, backups.stopped_at, now))
        out.sort(key=lambda s: s["created_at"], reverse=True)
        return out

    async def handle_snapshots(self, request: web.Request, key_name: str) -> web.StreamResponse:
        project = self.world.visible_project(request.match_info["project_id"], key_name)
        if project is None:
            return _error(404, "project not found")
        return web.json_response({"snapshots": self.snapshots(project.id, utcnow())})

    async def handle_schedule(self, request: web.Request, key_name: str) -> web.StreamResponse:
        project = self.world.visible_project(request.match_info["project_id"], key_name)
        if project is None:
            return _error(404, "project not found")
        branch_id = request.match_info["branch_id"]
        if not any(b.id == branch_id for b in project.branches):
            return _error(404, "branch not found")
        backups = self._backups.get(project.id, {}).get(branch_id)
        return web.json_response({"schedule": list(backups.schedule) if backups else []})


def _scheduled(
    branch_id: str, item: dict[str, Any], stopped_at: datetime | None, now: datetime
) -> list[dict[str, Any]]:
    """The snapshots a schedule item has taken by ``now``, newest first."""
    period = PERIOD[item["frequency"]]
    offset = timedelta(hours=item.get("hour", 0)) if period >= PERIOD["daily"] else timedelta()
    end = min(now, stopped_at) if stopped_at is not None else now
    retention = item.get("retention_seconds")
    start = now - timedelta(seconds=retention) if retention else _EPOCH
    # The last time on the schedule's grid at or before ``end``.
    t = _EPOCH + offset + ((end - _EPOCH - offset) // period) * period
    out: list[dict[str, Any]] = []
    while t > start and len(out) < MAX_SCHEDULED:
        snapshot = _snapshot(branch_id, t, manual=False, index=0)
        if retention:
            snapshot["expires_at"] = rfc3339(t + timedelta(seconds=retention))
        snapshot["full_size"] = _size(branch_id, t)
        if out:  # the newest has not had its increment computed yet
            snapshot["diff_size"] = _size(branch_id, t) // 50
        out.append(snapshot)
        t -= period
    return out


def _snapshot(branch_id: str | None, at: datetime, *, manual: bool, index: int) -> dict[str, Any]:
    stamp = at.strftime("%Y%m%d%H%M%S")
    kind = "manual" if manual else "auto"
    snapshot: dict[str, Any] = {
        "id": f"snap-{(branch_id or 'none')[3:]}-{kind}{index}-{stamp}"[-60:].lstrip("-"),
        "name": f"{kind} {rfc3339(at)}",
        "created_at": rfc3339(at),
        "timestamp": rfc3339(at),
        "manual": manual,
    }
    if branch_id:
        snapshot["source_branch_id"] = branch_id
    return snapshot


def _error(status: int, message: str) -> web.Response:
    """A Neon ``GeneralError``."""
    return web.json_response({"code": "", "message": message}, status=status)


def add_routes(router: web.UrlDispatcher, api: Api, snapshots: SimSnapshots) -> None:
    router.add_get(
        "/api/v2/projects/{project_id}/snapshots",
        api("v2", ROUTE, snapshots.handle_snapshots),
    )
    router.add_get(
        "/api/v2/projects/{project_id}/branches/{branch_id}/backup_schedule",
        api("v2", SCHEDULE_ROUTE, snapshots.handle_schedule),
    )
