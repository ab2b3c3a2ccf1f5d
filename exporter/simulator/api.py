"""The read-only API's handlers: each answers one route for one authenticated key.

Handlers are plain functions of the world and the request, so that ``app.py`` can wrap them all
in the same authentication (and tests can wrap them in faults and a request log).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aiohttp import web

from exporter.simulator.model import utcnow
from exporter.simulator.renderings import (
    branch_json,
    endpoint_json,
    project_detail,
    project_list_item,
    v1_project,
)
from exporter.simulator.world import World

MAX_LIMIT = 400
DEFAULT_LIMIT = 10
MAX_BRANCH_LIMIT = 10000
BRANCH_SORT_FIELDS = ("name", "created_at", "updated_at")


def error_response(status: int, message: str | None = None) -> web.Response:
    """A Neon ``GeneralError`` JSON response."""
    if message is None:
        try:
            message = HTTPStatus(status).phrase.lower()
        except ValueError:
            message = "error"
    return web.json_response({"code": "", "message": message}, status=status)


def _project_limit(raw: str | None) -> int | web.Response:
    """The ``limit`` of a project page, or the 400 that Neon answers to a bad one."""
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        return error_response(400, "limit: must be an integer")
    if not 1 <= limit <= MAX_LIMIT:
        return error_response(400, f"limit: must be between 1 and {MAX_LIMIT}")
    return limit


async def v2_projects(world: World, request: web.Request, key_name: str) -> web.StreamResponse:
    limit = _project_limit(request.query.get("limit"))
    if isinstance(limit, web.Response):
        return limit
    cursor = request.query.get("cursor") or None
    org_id = request.query.get("org_id") or None
    page = world.page(key_name=key_name, cursor=cursor, limit=limit, org_id=org_id)
    now = utcnow()
    installed = {p.id: list(p.integrations) for p in page if p.integrations}
    body: dict[str, Any] = {
        "projects": [project_list_item(p, now) for p in page],
        "applications": installed,
        "integrations": installed,
    }
    if page:
        body["pagination"] = {"cursor": page[-1].id}
    if cursor is None and world.unavailable:
        unavailable = world.unavailable_for(key_name, org_id)
        if unavailable:
            body["unavailable_project_ids"] = unavailable
    return web.json_response(body)


async def v2_project(world: World, request: web.Request, key_name: str) -> web.StreamResponse:
    project = world.visible_project(request.match_info["project_id"], key_name)
    if project is None:
        return error_response(404, "project not found")
    return web.json_response({"project": project_detail(project, utcnow())})


async def v2_endpoints(world: World, request: web.Request, key_name: str) -> web.StreamResponse:
    project = world.visible_project(request.match_info["project_id"], key_name)
    if project is None:
        return error_response(404, "project not found")
    now = utcnow()
    return web.json_response({"endpoints": [endpoint_json(e, now) for e in project.endpoints]})


async def v2_branches(
    world: World, request: web.Request, key_name: str, page_size: int, *, deleted: bool = False
) -> web.StreamResponse:
    """``page_size`` caps pages below what the client asks for, to exercise paging;
    ``deleted``: ``include_deleted=true``, deleted branches too."""
    project = world.visible_project(request.match_info["project_id"], key_name)
    if project is None:
        return error_response(404, "project not found")
    if deleted and not world.branch_recovery:
        return error_response(403, "branch recovery is not available for this account")
    try:
        limit = int(request.query.get("limit") or MAX_BRANCH_LIMIT)
        start = int(request.query.get("cursor") or "0")
    except ValueError:
        return error_response(400, "limit and cursor must be integers")
    if not 1 <= limit <= MAX_BRANCH_LIMIT or start < 0:
        return error_response(400, f"limit: must be between 1 and {MAX_BRANCH_LIMIT}")
    # The document: sorted by updated_at, descending, unless told otherwise.
    sort_by = request.query.get("sort_by") or "updated_at"
    sort_order = request.query.get("sort_order") or "desc"
    if sort_by not in BRANCH_SORT_FIELDS or sort_order not in ("asc", "desc"):
        return error_response(
            400, "sort_by: name, created_at or updated_at; sort_order: asc or desc"
        )
    listed = project.branches + (project.deleted_branches if deleted else [])
    branches = sorted(listed, key=lambda b: (getattr(b, sort_by), b.id))
    if sort_order == "desc":
        branches.reverse()
    end = start + min(limit, page_size)
    body: dict[str, Any] = {
        "branches": [branch_json(b) for b in branches[start:end]],
        "annotations": {},
        "pagination": {"sort_by": sort_by, "sort_order": sort_order},
    }
    if end < len(branches):  # the cursor is opaque to clients; here it is an offset
        body["pagination"]["next"] = str(end)
    return web.json_response(body)


async def v1_projects(world: World, request: web.Request, key_name: str) -> web.StreamResponse:
    items = [
        v1_project(p) for pid in world.sorted_ids if (p := world.projects[pid]).visible(key_name)
    ]
    return web.json_response(items)
