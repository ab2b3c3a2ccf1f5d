"""Simulated branch lifecycle, integrations and database advisors, as Neon's document describes
them: ``GET /projects/{project_id}/branches`` with and without ``include_deleted=true`` (deleted
branches carry ``recovery``; expiring ones ``expires_at`` and ``ttl_interval_seconds``), and
``GET /projects/{project_id}/advisors`` (``AdvisorIssue`` items).

The document does not say what the advisors answer for a project without the Data API: here a
404 ``GeneralError``; an account whose plan does not offer them (``World.advisors_plan``) gets
403, as does ``include_deleted=true`` without branch recovery (``World.branch_recovery``).

The demo's world (:func:`populate`): of the projects there at the start, each has a preview
branch expiring within days and one deleted by its expiry (see ``_lifecycle``), the first its
default branch set to expire too (the accident ``NeonDefaultOrProtectedBranchExpiring`` is
for); every fourth has the GitHub and Vercel integrations, every fifth Datadog or
OpenTelemetry; every other one the Data API, with advisor findings (the first with two security
errors).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from exporter.simulator.api import error_response, v2_branches
from exporter.simulator.model import SimBranch, SimProject, rfc3339, utcnow
from exporter.simulator.world import World

if TYPE_CHECKING:  # app.py imports this module
    from exporter.simulator.app import Simulator

ROUTE_BRANCHES = "/projects/{project_id}/branches"
ROUTE_DELETED_BRANCHES = "/projects/{project_id}/branches?include_deleted=true"
ROUTE_ADVISORS = "/projects/{project_id}/advisors"
BRANCH_RECOVERY_WINDOW = timedelta(days=7)
LEVELS = ("INFO", "WARN", "ERROR")
CATEGORIES = ("SECURITY", "PERFORMANCE")

_ApiHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def set_expiry(branch: SimBranch, expires_at: datetime, ttl: timedelta) -> None:
    branch.expires_at, branch.ttl_interval_seconds = expires_at, int(ttl.total_seconds())


def delete_branch(
    project: SimProject, branch_id: str, *, method: str = "user", at: datetime | None = None
) -> None:
    """Delete a (non-default) branch: listed only with ``include_deleted=true`` from now on,
    recoverable for 7 days."""
    branch = next(b for b in project.branches if b.id == branch_id)
    project.branches.remove(branch)
    when = at or utcnow()
    branch.recovery = {
        "deleted_at": rfc3339(when),
        "recoverable_until": rfc3339(when + BRANCH_RECOVERY_WINDOW),
        "deletion_method": method,
    }
    project.deleted_branches.append(branch)


def issue(name: str, level: str, categories: list[str], detail: str = "") -> dict[str, Any]:
    """An ``AdvisorIssue``."""
    return {
        "name": name,
        "title": name.replace("_", " ").capitalize(),
        "level": level,
        "facing": "EXTERNAL",
        "categories": categories,
        "description": f"Detects {name.replace('_', ' ')}.",
        "detail": detail or f"{name} found.",
        "remediation": "https://neon.com/docs/data-api/database-advisor",
        "metadata": {},
        "cache_key": f"{name}_{zlib.crc32(detail.encode()):08x}",  # deterministic
    }


async def advisors(world: World, request: web.Request, key_name: str) -> web.StreamResponse:
    project = world.visible_project(request.match_info["project_id"], key_name)
    if project is None:
        return error_response(404, "project not found")
    category = request.query.get("category")
    floor = request.query.get("min_severity", "INFO")
    if (category is not None and category not in CATEGORIES) or floor not in LEVELS:
        return error_response(400, "category: SECURITY or PERFORMANCE; min_severity: INFO, ...")
    if not world.advisors_plan:
        return error_response(403, "the database advisor is not available on this plan")
    if not project.data_api:
        return error_response(404, "data API is not enabled for this project")
    issues = [
        i
        for i in project.advisor_issues
        if LEVELS.index(str(i["level"])) >= LEVELS.index(floor)
        and (category is None or category in i["categories"])  # type: ignore[operator]
    ]
    return web.json_response({"issues": issues})


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    """The branch list (with ``include_deleted`` counted as a route of its own) and advisors."""
    world = sim.world

    def branches(deleted: bool) -> _ApiHandler:
        return lambda r, k: v2_branches(world, r, k, sim.branch_page_size, deleted=deleted)

    live = sim.api_route("v2", ROUTE_BRANCHES, branches(False))
    deleted = sim.api_route("v2", ROUTE_DELETED_BRANCHES, branches(True))

    async def branch_list(request: web.Request) -> web.StreamResponse:
        wanted = request.query.get("include_deleted", "false").lower()
        if wanted not in ("true", "false"):
            return error_response(400, "include_deleted: must be a boolean")
        return await (deleted if wanted == "true" else live)(request)

    router.add_get("/api/v2/projects/{project_id}/branches", branch_list)
    router.add_get(
        "/api/v2/projects/{project_id}/advisors",
        sim.api_route("v2", ROUTE_ADVISORS, lambda r, k: advisors(world, r, k)),
    )


def populate(world: World, rng: random.Random) -> None:
    """The demo's expiring and deleted branches, integrations and advisor findings."""
    now = utcnow()
    live = [world.projects[pid] for pid in world.sorted_ids]
    for i, project in enumerate(live):
        _lifecycle(world, project, i, now)
        if i % 4 == 0:
            project.integrations = ["github", "vercel"]
        if i % 5 == 1:
            project.integrations = [("datadog", "opentelemetry")[i % 2]]
        if i % 2 == 0:
            project.data_api = True
            project.advisor_issues = _findings(i, rng)


def _lifecycle(world: World, project: SimProject, index: int, now: datetime) -> None:
    """Every project: a preview branch expiring within days (the second's in 6 hours) and one
    deleted by its expiry; the first three one deleted by a user too; the first's default
    branch set to expire (the accident)."""
    ids = world.add_branches(project.id, 3 if index < 3 else 2)
    branch = {b.id: b for b in project.branches}
    hours = 6 if index == 1 else 24 * (3 + index % 4)
    set_expiry(branch[ids[0]], now + timedelta(hours=hours), timedelta(days=7))
    if index == 0:
        default = next(b for b in project.branches if b.default)
        set_expiry(default, now + timedelta(days=2), timedelta(days=30))
    gone = now - timedelta(days=1 + index % 5)
    set_expiry(branch[ids[1]], gone, timedelta(days=1))
    delete_branch(project, ids[1], method="ttl", at=gone)
    if index < 3:
        delete_branch(project, ids[2], method="user", at=now - timedelta(hours=5))


def _findings(index: int, rng: random.Random) -> list[dict[str, Any]]:
    out = [issue("unused_index", "INFO", ["PERFORMANCE"]) for _ in range(rng.randrange(3))]
    if index % 3 == 0:
        out.append(issue("auth_users_exposed", "WARN", ["SECURITY"]))
    if index == 0:
        out += [
            issue("rls_disabled_in_public", "ERROR", ["SECURITY"], "Table `public.users`."),
            issue("rls_disabled_in_public", "ERROR", ["SECURITY"], "Table `public.orders`."),
        ]
    return out
