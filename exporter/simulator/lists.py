"""The simulated project lists beside the live one: deleted projects that can still be restored
(``GET /projects?recoverable=true``) and projects other accounts share with the key's account
(``GET /projects/shared``); and the extras a demo world carries on its live projects (quotas,
maintenance windows).

Deleted and shared projects are kept apart from ``World.projects``, so the live list, project
detail (404) and every per-project route never see them, as with Neon.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from exporter.simulator import features
from exporter.simulator.model import SimProject, rfc3339, utcnow
from exporter.simulator.renderings import project_list_item
from exporter.simulator.world import World

if TYPE_CHECKING:  # app.py imports this module
    from exporter.simulator.app import Simulator

ROUTE_RECOVERABLE = "/projects?recoverable=true"  # as the exporter counts it: apart from /projects
ROUTE_SHARED = "/projects/shared"
MAX_LIMIT = 400
DEFAULT_LIMIT = 10
RECOVERY_WINDOW = timedelta(days=7)  # how long Neon keeps a deleted project restorable
PERMISSIONS = ("CAN_VIEW", "CAN_EDIT", "CAN_MANAGE")

_ApiHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Extras:
    """What a world carries beyond its live projects: ``deleted`` extra projects already
    deleted (one of them within a day of the end of its recovery window), ``shared`` projects
    of another account shared with this one, and on live projects: every one a quota when
    ``quotas``, ``maintenance`` of them a maintenance window, and with ``features`` the
    branch lifecycle, integrations and advisor findings of ``features.populate``."""

    deleted: int = 0
    shared: int = 0
    quotas: bool = False
    maintenance: int = 0
    features: bool = False  # expiring and deleted branches, integrations, advisors

    @classmethod
    def demo(cls) -> Extras:
        return cls(deleted=3, shared=2, quotas=True, maintenance=2, features=True)


@dataclass
class Deleted:
    project: SimProject
    deleted_at: datetime
    recoverable_until: datetime


@dataclass
class Shared:
    project: SimProject
    permission: str | None  # effective_project_permission; None: omitted


@dataclass
class Lists:
    """Deleted and shared projects of a simulated world."""

    world: World
    deleted: dict[str, Deleted] = field(default_factory=dict)
    shared: dict[str, Shared] = field(default_factory=dict)

    def delete(
        self, project_id: str, *, window: timedelta = RECOVERY_WINDOW, at: datetime | None = None
    ) -> None:
        """Delete a live project: gone from the live list, restorable for ``window``."""
        project = self.world.projects[project_id]
        self.world.remove_project(project_id)
        when = at if at is not None else utcnow()
        self.deleted[project_id] = Deleted(project, when, when + window)

    def add_shared(
        self,
        *,
        project_id: str | None = None,
        name: str | None = None,
        org_id: str | None = "org-partner-40000000",
        size_bytes: int = 0,
        permission: str | None = "CAN_VIEW",
        visible_to: Iterable[str] | None = None,
    ) -> str:
        """A project of another account, shared with this one; returns its id."""
        pid = project_id or self.world.new_id()
        now = utcnow()
        project = SimProject(
            id=pid,
            name=name or pid,
            pg_version=17,
            region_id="aws-eu-central-1",
            org_id=org_id,
            size_bytes=size_bytes,
            created_at=now,
            updated_at=now,
            owner_id=str(uuid.UUID(int=sum(map(ord, pid)), version=4)),  # another account
            visible_to=None if visible_to is None else frozenset(visible_to),
        )
        self.shared[pid] = Shared(project, permission)
        return pid

    def populate(self, extras: Extras, rng: random.Random) -> None:
        """The extras of a generated world, from their own generator (the rest does not shift)."""
        now = utcnow()
        live = list(self.world.sorted_ids)
        if extras.quotas:
            for i, pid in enumerate(live):
                self.world.projects[pid].quota = _quota(i, self.world.projects[pid], rng)
        for pid in live[: extras.maintenance]:
            self.world.projects[pid].maintenance_starts_at = now + timedelta(
                hours=rng.randrange(6, 72)
            )
        for i in range(extras.deleted):
            pid = self.world.add_project(
                project_id=None,
                name=None,
                pg_version=16,
                region_id="aws-us-east-2",
                org_id=next(iter(self.world.org_ids()), None),
                size_bytes=rng.randrange(1 << 30),
                endpoints=1,
                visible_to=None,
            )
            # The first is 20 hours from the end of its window, so the alert shows in a demo.
            ago = RECOVERY_WINDOW - timedelta(hours=20) if i == 0 else timedelta(days=i)
            self.delete(pid, at=now - ago)
        for i in range(extras.shared):
            self.add_shared(
                size_bytes=rng.randrange(1 << 30), permission=PERMISSIONS[i % len(PERMISSIONS)]
            )
        if extras.features:
            features.populate(self.world, rng)


def _quota(index: int, project: SimProject, rng: random.Random) -> dict[str, int]:
    """A demo quota: every project limits active and compute time (some near their usage);
    every third also written data, every fourth the logical size, one in five sets an
    unlimited (0) data transfer quota, which is no limit at all, and one in five a real one."""
    near = 1.05 if index % 5 == 0 else rng.uniform(1.5, 4.0)
    quota = {
        "active_time_seconds": max(3600, int(project.active_time_seconds * near)),
        "compute_time_seconds": max(900, int(project.compute_time_seconds * near)),
    }
    if index % 3 == 0:
        quota["written_data_bytes"] = max(1 << 30, int(project.written_data_bytes * 2))
    if index % 4 == 0:
        quota["logical_size_bytes"] = max(1 << 30, project.size_bytes * 2)
    if index % 5 == 1:
        quota["data_transfer_bytes"] = 0
    elif index % 5 == 2:
        quota["data_transfer_bytes"] = max(1 << 30, project.data_transfer_bytes * 3)
    return quota


# -- HTTP --------------------------------------------------------------------------------------


def add_routes(router: web.UrlDispatcher, sim: Simulator, live: _Handler) -> None:
    """``GET /api/v2/projects`` (``live`` unless ``recoverable=true``) and
    ``GET /api/v2/projects/shared``; before ``/projects/{project_id}``, which would take
    ``shared`` for a project id."""
    recoverable = sim._api("v2", ROUTE_RECOVERABLE, _recoverable_handler(sim))

    async def projects(request: web.Request) -> web.StreamResponse:
        wanted = request.query.get("recoverable", "false").lower()
        if wanted not in ("true", "false"):
            return sim_error(400, "recoverable: must be a boolean")
        return await (recoverable if wanted == "true" else live)(request)

    router.add_get("/api/v2/projects", projects)
    router.add_get("/api/v2/projects/shared", sim._api("v2", ROUTE_SHARED, _shared_handler(sim)))


def sim_error(status: int, message: str) -> web.Response:
    return web.json_response({"code": "", "message": message}, status=status)


def _limit(request: web.Request) -> int | web.Response:
    raw = request.query.get("limit") or str(DEFAULT_LIMIT)
    try:
        limit = int(raw)
    except ValueError:
        return sim_error(400, "limit: must be an integer")
    if not 1 <= limit <= MAX_LIMIT:
        return sim_error(400, f"limit: must be between 1 and {MAX_LIMIT}")
    return limit


def _page(
    projects: Iterable[SimProject], request: web.Request, key_name: str, *, by_org: bool
) -> list[SimProject] | web.Response:
    """One page of ``projects`` (sorted by id, after ``cursor``) that the key may see."""
    limit = _limit(request)
    if isinstance(limit, web.Response):
        return limit
    cursor = request.query.get("cursor") or ""
    org_id = (request.query.get("org_id") or None) if by_org else None
    out = []
    for p in sorted(projects, key=lambda p: p.id):
        if p.id <= cursor or not p.visible(key_name):
            continue
        if org_id is not None and p.org_id != org_id:
            continue
        out.append(p)
        if len(out) >= limit:
            break
    return out


def _body(items: list[dict[str, Any]], page: list[SimProject]) -> dict[str, Any]:
    body: dict[str, Any] = {"projects": items}
    if page:
        body["pagination"] = {"cursor": page[-1].id}
    return body


def _list_handler(
    projects: Callable[[], Iterable[SimProject]],
    item_of: Callable[[SimProject, datetime], dict[str, Any]],
    *,
    by_org: bool,
    extra: dict[str, Any] | None = None,
) -> _ApiHandler:
    """A paged project list of these projects, each item as ``item_of`` renders it."""

    async def handler(request: web.Request, key_name: str) -> web.StreamResponse:
        page = _page(projects(), request, key_name, by_org=by_org)
        if isinstance(page, web.Response):
            return page
        now = utcnow()
        body = _body([item_of(p, now) for p in page], page) | (extra or {})
        return web.json_response(body)

    return handler


def _recoverable_handler(sim: Simulator) -> _ApiHandler:
    def item(p: SimProject, now: datetime) -> dict[str, Any]:
        deleted = sim.lists.deleted[p.id]
        out = project_list_item(p, now)
        out["deleted_at"] = rfc3339(deleted.deleted_at)
        out["recoverable_until"] = rfc3339(deleted.recoverable_until)
        out.pop("compute_last_active_at", None)  # a deleted project runs nothing
        return out

    return _list_handler(
        lambda: (d.project for d in sim.lists.deleted.values()),
        item,
        by_org=True,
        extra={"applications": {}, "integrations": {}},
    )


def _shared_handler(sim: Simulator) -> _ApiHandler:
    def item(p: SimProject, now: datetime) -> dict[str, Any]:
        out = project_list_item(p, now)
        permission = sim.lists.shared[p.id].permission
        if permission is not None:
            out["effective_project_permission"] = permission
        return out

    return _list_handler(lambda: (s.project for s in sim.lists.shared.values()), item, by_org=False)
