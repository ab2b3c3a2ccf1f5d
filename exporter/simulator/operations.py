"""Simulated operations: ``GET /projects/{project_id}/operations`` as Neon's document describes
it (``ListOperations``: ``operations`` of ``Operation`` plus ``pagination.cursor``), newest first.

The generated world gives every project a few finished operations of the last two days; of the
projects there at the start, every fourth also has an operation that failed half an hour ago and
every seventh (from the second) one running for two hours, so the demo shows both. Tests add
their own with :meth:`SimOperations.add`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from exporter.simulator.model import rfc3339, utcnow
from exporter.simulator.world import World

ROUTE = "/projects/{project_id}/operations"
MAX_LIMIT = 1000  # the document: 1 to 1000
DEFAULT_LIMIT = 10
_FINISHED_ACTIONS = ("start_compute", "suspend_compute", "apply_config", "create_timeline")

ApiHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Api = Callable[[str, str, ApiHandler], Handler]


class SimOperations:
    """Every project's operations, newest first, generated on first use and kept."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self._rng = random.Random(seed + 3)  # its own: the rest of the world does not shift
        self._ops: dict[str, list[dict[str, Any]]] = {}
        now = utcnow()
        for index, pid in enumerate(world.sorted_ids):
            self._generate(pid, now)
            if index % 4 == 0:
                self.add(
                    pid,
                    action="apply_config",
                    status="failed",
                    created_at=now - timedelta(minutes=31),
                    updated_at=now - timedelta(minutes=30),
                    error="compute failed to apply configuration: timed out",
                )
            if index % 7 == 1:
                self.add(
                    pid,
                    action="create_timeline",
                    status="running",
                    created_at=now - timedelta(hours=2),
                )

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _generate(self, project_id: str, now: datetime) -> list[dict[str, Any]]:
        ops = self._ops.setdefault(project_id, [])
        for hours in sorted(self._rng.sample(range(1, 48), 4), reverse=True):
            created = now - timedelta(hours=hours)
            self.add(
                project_id,
                action=self._rng.choice(_FINISHED_ACTIONS),
                status="finished",
                created_at=created,
                updated_at=created + timedelta(seconds=2),
            )
        return ops

    def add(
        self,
        project_id: str,
        *,
        action: str,
        status: str,
        created_at: datetime,
        updated_at: datetime | None = None,
        error: str | None = None,
    ) -> str:
        """Add an operation to a project; returns its id."""
        ops = self._ops.get(project_id)
        if ops is None:
            ops = self._generate(project_id, utcnow())
        updated = updated_at or created_at
        op: dict[str, Any] = {
            "id": self._new_id(),
            "project_id": project_id,
            "action": action,
            "status": status,
            "failures_count": 1 if status in ("failed", "error") else 0,
            "created_at": rfc3339(created_at),
            "updated_at": rfc3339(updated),
            "total_duration_ms": int((updated - created_at).total_seconds() * 1000),
        }
        project = self.world.projects.get(project_id)
        if project is not None and project.endpoints:
            op["branch_id"] = project.endpoints[0].branch_id
            op["endpoint_id"] = project.endpoints[0].id
        if error is not None:
            op["error"] = error
        ops.append(op)
        ops.sort(key=lambda o: o["created_at"], reverse=True)  # newest first, as Neon lists
        return str(op["id"])

    def of(self, project_id: str) -> list[dict[str, Any]]:
        ops = self._ops.get(project_id)
        return self._generate(project_id, utcnow()) if ops is None else ops

    async def handle(self, request: web.Request, key_name: str) -> web.StreamResponse:
        project = self.world.visible_project(request.match_info["project_id"], key_name)
        if project is None:
            return _error(404, "project not found")
        try:
            limit = int(request.query.get("limit") or DEFAULT_LIMIT)
            start = int(request.query.get("cursor") or "0")
        except ValueError:
            return _error(400, "limit must be an integer; cursor as returned")
        if not 1 <= limit <= MAX_LIMIT or start < 0:
            return _error(400, f"limit: must be between 1 and {MAX_LIMIT}")
        ops = self.of(project.id)
        end = start + limit
        body: dict[str, Any] = {"operations": ops[start:end]}
        if end < len(ops):  # opaque to clients; here an offset
            body["pagination"] = {"cursor": str(end)}
        return web.json_response(body)


def _error(status: int, message: str) -> web.Response:
    """A Neon ``GeneralError``."""
    return web.json_response({"code": "", "message": message}, status=status)


def add_routes(router: web.UrlDispatcher, api: Api, operations: SimOperations) -> None:
    router.add_get("/api/v2/projects/{project_id}/operations", api("v2", ROUTE, operations.handle))
