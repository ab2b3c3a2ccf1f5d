"""A simulated Neon management API (v2 and the legacy v1 project list) as an aiohttp application.

Serves ``/api/v2/...`` and ``/api/v1/projects`` with bearer-token auth, plus an unauthenticated
control API under ``/_sim/`` used by the demo mode and by tests running it as a separate process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from aiohttp import web

from exporter.simulator import api_keys
from exporter.simulator.api_keys import KeyBook
from exporter.simulator.model import (
    Fault,
    RequestRecord,
    SimEndpoint,
    World,
    branch_json,
    consumption_json,
    endpoint_json,
    project_detail,
    project_list_item,
    utcnow,
    v1_project,
)

MAX_LIMIT = 400
DEFAULT_LIMIT = 10

ROUTE_PROJECTS = "/projects"
ROUTE_PROJECT = "/projects/{project_id}"
ROUTE_ENDPOINTS = "/projects/{project_id}/endpoints"
ROUTE_AUTH = "/auth"
ROUTE_BRANCHES = "/projects/{project_id}/branches"
ROUTE_CONSUMPTION = "/consumption_history/projects"
MAX_BRANCH_LIMIT = 10000
DEFAULT_REQUEST_LOG = 100_000  # a bench run at 10,000 projects fits; about 15 MB at most
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
BRANCH_SORT_FIELDS = ("name", "created_at", "updated_at")

_ApiHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(status: int, message: str | None = None) -> web.Response:
    """A Neon ``GeneralError`` JSON response."""
    if message is None:
        try:
            message = HTTPStatus(status).phrase.lower()
        except ValueError:
            message = "error"
    return web.json_response({"code": "", "message": message}, status=status)


class Simulator:
    """The simulated control plane: an in-memory world, keys, faults and a request log."""

    def __init__(
        self,
        *,
        keys: Mapping[str, str],
        projects: int = 5,
        endpoints_per_project: int = 1,
        seed: int = 0,
        churn_seconds: float = 0.0,
        org_id: str | None = None,
        consumption_history: bool = True,
        branch_page_size: int = MAX_BRANCH_LIMIT,
        request_log: int = DEFAULT_REQUEST_LOG,
        omit_pooler_fields: float = 0.0,
        org_keys: Mapping[str, str] | None = None,
    ) -> None:
        """``consumption_history``: whether the account's plan includes the consumption
        history API (False answers it 403, as Neon does below Scale); ``branch_page_size``
        caps branch pages below what the client asks for, to exercise paging;
        ``request_log``: how many recent requests ``requests`` keeps (a ring, so a simulator
        that runs for days, as the demo does, stays the same size); ``omit_pooler_fields``:
        the share of projects whose endpoints answer without the deprecated
        ``pooler_enabled``/``pooler_mode`` (Neon's document still lists them as required;
        they are due to vanish); ``org_keys``: keys that are organization keys (name ->
        organization id), the others are the account's personal keys."""
        if request_log < 1:
            raise ValueError("request_log must be at least 1")
        self.consumption_history = consumption_history
        self.branch_page_size = branch_page_size
        tokens: dict[str, str] = {}
        for name, token in keys.items():
            if not token:
                raise ValueError(f"key {name!r} has an empty token")
            if token in tokens:
                raise ValueError("two keys share a token")
            tokens[token] = name
        self._keys = dict(keys)
        self._tokens = tokens
        self._revoked: set[str] = set()
        self._faults: list[Fault] = []
        self._unavailable: frozenset[str] = frozenset()
        self.churn_seconds = churn_seconds
        self._churn_rng = random.Random(seed + 1)
        rng = random.Random(seed)
        self.account_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.world = World(seed, owner_id=self.account_id)
        self.world.generate(projects, endpoints_per_project, org_id)
        self.key_book = KeyBook(
            self, keys, account_id=self.account_id, org_id=org_id, org_keys=org_keys
        )
        if omit_pooler_fields > 0:
            self.world.omit_pooler_fields(omit_pooler_fields, random.Random(seed + 2))
        self.requests: deque[RequestRecord] = deque(maxlen=request_log)
        self.requests_total = 0  # every request served, including those the ring let go

    # -- control ---------------------------------------------------------------------------------

    def revoke(self, name: str) -> None:
        """From now on key ``name`` gets 401 on every route."""
        if name not in self._keys:
            raise KeyError(name)
        self._revoked.add(name)

    def add_key(self, name: str, token: str) -> None:
        """A new key the simulator accepts (``POST /api_keys``)."""
        if name in self._keys or token in self._tokens:
            raise ValueError(f"key {name!r} or its token exists")
        self._keys[name], self._tokens[token] = token, name

    def usable(self, name: str) -> bool:
        return name in self._keys and name not in self._revoked

    def restore(self, name: str) -> None:
        if name not in self._keys:
            raise KeyError(name)
        self._revoked.discard(name)

    def add_project(
        self,
        *,
        project_id: str | None = None,
        name: str | None = None,
        pg_version: int = 16,
        region_id: str = "aws-us-east-2",
        org_id: str | None = None,
        size_bytes: int = 0,
        endpoints: int = 1,
        visible_to: Collection[str] | None = None,
        pooler_fields: bool = True,
    ) -> str:
        """Add a project (idle endpoints, pooler off); returns its id. ``pooler_fields=False``:
        its endpoints answer without the deprecated pooler fields."""
        return self.world.add_project(
            project_id=project_id,
            name=name,
            pg_version=pg_version,
            region_id=region_id,
            org_id=org_id,
            size_bytes=size_bytes,
            endpoints=endpoints,
            visible_to=visible_to,
            pooler_fields=pooler_fields,
        )

    def remove_project(self, project_id: str) -> None:
        self.world.remove_project(project_id)

    def set_endpoint(
        self, endpoint_id: str, *, state: str | None = None, pooler_enabled: bool | None = None
    ) -> None:
        self.world.set_endpoint(endpoint_id, state=state, pooler_enabled=pooler_enabled)

    def set_project(
        self, project_id: str, *, size_bytes: int | None = None, name: str | None = None
    ) -> None:
        self.world.set_project(project_id, size_bytes=size_bytes, name=name)

    def add_branches(self, project_id: str, count: int) -> list[str]:
        """Add ``count`` non-default branches to a project; returns their ids."""
        return self.world.add_branches(project_id, count)

    def project_ids(self) -> list[str]:
        return list(self.world.sorted_ids)

    def endpoints_of(self, project_id: str) -> list[SimEndpoint]:
        return list(self.world.projects[project_id].endpoints)

    def inject(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def mark_unavailable(self, project_ids: Collection[str]) -> None:
        """List these ids in ``unavailable_project_ids`` instead of the v2 pages; [] clears."""
        self._unavailable = frozenset(project_ids)

    def count(
        self, route: str | None = None, key_name: str | None = None, status: int | None = None
    ) -> int:
        """How many of the recorded requests (see ``request_log``) match a route / key / status."""
        return sum(
            1
            for r in self.requests
            if (route is None or r.route == route)
            and (key_name is None or r.key_name == key_name)
            and (status is None or r.status == status)
        )

    # -- app -------------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        r = app.router
        r.add_get("/api/v2/projects", self._api("v2", ROUTE_PROJECTS, self._v2_projects))
        r.add_get("/api/v2/projects/{project_id}", self._api("v2", ROUTE_PROJECT, self._v2_project))
        r.add_get(
            "/api/v2/projects/{project_id}/endpoints",
            self._api("v2", ROUTE_ENDPOINTS, self._v2_endpoints),
        )
        r.add_get(
            "/api/v2/projects/{project_id}/branches",
            self._api("v2", ROUTE_BRANCHES, self._v2_branches),
        )
        r.add_get(
            "/api/v2/consumption_history/projects",
            self._api("v2", ROUTE_CONSUMPTION, self._v2_consumption),
        )
        r.add_get("/api/v2/auth", self._api("v2", ROUTE_AUTH, self._v2_auth))
        r.add_get("/api/v1/projects", self._api("v1", ROUTE_PROJECTS, self._v1_projects))
        api_keys.add_routes(self, r)
        r.add_post("/_sim/keys/{name}/revoke", self._sim_revoke)
        r.add_post("/_sim/keys/{name}/restore", self._sim_restore)
        r.add_post("/_sim/faults", self._sim_add_fault)
        r.add_delete("/_sim/faults", self._sim_clear_faults)
        r.add_get("/_sim/requests", self._sim_requests)
        r.add_post("/_sim/projects", self._sim_add_project)
        r.add_post("/_sim/projects/{project_id}", self._sim_set_project)
        r.add_delete("/_sim/projects/{project_id}", self._sim_remove_project)
        r.add_post("/_sim/endpoints/{endpoint_id}", self._sim_set_endpoint)
        r.add_post("/_sim/unavailable", self._sim_unavailable)
        if self.churn_seconds > 0:
            app.cleanup_ctx.append(self._churn_ctx)
        return app

    async def _churn_ctx(self, app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(self._churn_loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _churn_loop(self) -> None:
        while True:
            await asyncio.sleep(self.churn_seconds)
            self.world.churn(self._churn_rng)

    # -- request plumbing ------------------------------------------------------------------------

    def _authenticate(self, request: web.Request) -> tuple[str | None, bool]:
        """(key name or None when the token is unknown/missing, whether the key is usable)."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, False
        name = self._tokens.get(token.strip())
        if name is None:
            return None, False
        return name, name not in self._revoked

    def _take_fault(self, route: str, key_name: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(route, key_name):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def api_route(self, version: str, route: str, handler: _ApiHandler) -> _Handler:
        """``handler`` behind key checks, faults and the request log (for route modules)."""
        return self._api(version, route, handler)

    def _api(self, version: str, route: str, handler: _ApiHandler) -> _Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            arrived = time.monotonic()
            key_name: str | None = None
            status = 500
            try:
                key_name, ok = self._authenticate(request)
                if not ok or key_name is None:
                    response: web.StreamResponse = error_response(401, "authentication required")
                else:
                    self.key_book.used(key_name, request.remote)
                    response = await self._answer(request, route, key_name, handler)
                status = response.status
                return response
            except asyncio.CancelledError:
                status = 499  # the client went away (e.g. timed out during a fault's delay)
                raise
            finally:
                self.requests_total += 1
                self.requests.append(
                    RequestRecord(arrived, key_name, request.method, route, status, version)
                )

        return wrapped

    async def _answer(
        self, request: web.Request, route: str, key_name: str, handler: _ApiHandler
    ) -> web.StreamResponse:
        fault = self._take_fault(route, key_name)
        if fault is None:
            return await handler(request, key_name)
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        response: web.StreamResponse
        if fault.body is not None:
            response = web.Response(
                status=fault.status or 200,
                body=fault.body,
                headers={"Content-Type": fault.content_type},
            )
        elif fault.status is not None:
            response = error_response(fault.status)
        else:
            response = await handler(request, key_name)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        if fault.stall > 0 and isinstance(response, web.Response):
            return await _stalled(request, response, fault.stall)
        return response

    # -- API handlers ----------------------------------------------------------------------------

    async def _v2_projects(self, request: web.Request, key_name: str) -> web.StreamResponse:
        raw_limit = request.query.get("limit")
        if raw_limit is None or raw_limit == "":
            limit = DEFAULT_LIMIT
        else:
            try:
                limit = int(raw_limit)
            except ValueError:
                return error_response(400, "limit: must be an integer")
            if not 1 <= limit <= MAX_LIMIT:
                return error_response(400, f"limit: must be between 1 and {MAX_LIMIT}")
        cursor = request.query.get("cursor") or None
        org_id = request.query.get("org_id") or None
        page = self.world.page(
            key_name=key_name,
            cursor=cursor,
            limit=limit,
            org_id=org_id,
            unavailable=self._unavailable,
        )
        now = utcnow()
        body: dict[str, Any] = {
            "projects": [project_list_item(p, now) for p in page],
            "applications": {},
            "integrations": {},
        }
        if page:
            body["pagination"] = {"cursor": page[-1].id}
        if cursor is None and self._unavailable:
            unavailable = self.world.unavailable_for(key_name, org_id, self._unavailable)
            if unavailable:
                body["unavailable_project_ids"] = unavailable
        return web.json_response(body)

    async def _v2_project(self, request: web.Request, key_name: str) -> web.StreamResponse:
        project = self.world.visible_project(request.match_info["project_id"], key_name)
        if project is None:
            return error_response(404, "project not found")
        return web.json_response({"project": project_detail(project, utcnow())})

    async def _v2_endpoints(self, request: web.Request, key_name: str) -> web.StreamResponse:
        project = self.world.visible_project(request.match_info["project_id"], key_name)
        if project is None:
            return error_response(404, "project not found")
        now = utcnow()
        return web.json_response({"endpoints": [endpoint_json(e, now) for e in project.endpoints]})

    async def _v2_branches(self, request: web.Request, key_name: str) -> web.StreamResponse:
        project = self.world.visible_project(request.match_info["project_id"], key_name)
        if project is None:
            return error_response(404, "project not found")
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
        branches = sorted(project.branches, key=lambda b: (getattr(b, sort_by), b.id))
        if sort_order == "desc":
            branches.reverse()
        end = start + min(limit, self.branch_page_size)
        body: dict[str, Any] = {
            "branches": [branch_json(b) for b in branches[start:end]],
            "annotations": {},
            "pagination": {"sort_by": sort_by, "sort_order": sort_order},
        }
        if end < len(branches):  # the cursor is opaque to clients; here it is an offset
            body["pagination"]["next"] = str(end)
        return web.json_response(body)

    async def _v2_consumption(self, request: web.Request, key_name: str) -> web.StreamResponse:
        if not self.consumption_history:
            return error_response(
                403,
                "This endpoint is not available. It is only supported with Scale, Business, "
                "and Enterprise plan accounts.",
            )
        q = request.query
        granularity = q.get("granularity")
        if granularity not in GRANULARITIES:
            return error_response(400, "granularity: one of hourly, daily, monthly")
        try:
            since = _round(_parse_time(q["from"]), granularity)
            until = _round(_parse_time(q["to"]), granularity)
            limit = int(q.get("limit") or 10)
        except (KeyError, ValueError):
            return error_response(400, "from, to: RFC 3339 date-times; limit: an integer")
        if not 1 <= limit <= MAX_CONSUMPTION_LIMIT:
            return error_response(400, f"limit: must be between 1 and {MAX_CONSUMPTION_LIMIT}")
        ids = [i for v in q.getall("project_ids", []) for i in v.split(",") if i]
        if len(ids) > MAX_CONSUMPTION_LIMIT:
            return error_response(400, f"project_ids: at most {MAX_CONSUMPTION_LIMIT}")
        metrics = [m for v in q.getall("metrics", []) for m in v.split(",") if m]
        unknown = sorted(set(metrics) - set(CONSUMPTION_METRICS))
        if unknown:
            return error_response(400, f"metrics: unknown {', '.join(unknown)}")
        org_id = q.get("org_id") or None
        if org_id is not None and org_id not in self.world.org_ids():
            return error_response(404, "account is not a member of the organization")
        now = utcnow()
        if since < max(HISTORY_START, now - HISTORY_REACH[granularity]):
            return error_response(
                406, f"from: outside the {granularity} history (see the granularity's limits)"
            )
        # The timeframe that holds "now", included only if the rounded [from, to) covers its
        # start: a query ending now rounds down past it and misses the current period.
        frame_start = _round(now, granularity)
        frame_end = _next(frame_start, granularity)
        frame = (frame_start, frame_end) if since <= frame_start < until else None
        world = self.world
        candidates = ids if ids else world.sorted_ids
        cursor = q.get("cursor") or ""
        out = []
        for pid in candidates:
            project = world.visible_project(pid, key_name)
            if project is None or (pid <= cursor and not ids):
                continue
            out.append(
                consumption_json(project, metrics or DEFAULT_CONSUMPTION_METRICS, frame, now)
            )
            if len(out) >= limit:
                break
        body: dict[str, Any] = {"projects": out}
        if out:
            body["pagination"] = {"cursor": out[-1]["project_id"]}
        return web.json_response(body)

    async def _v2_auth(self, request: web.Request, key_name: str) -> web.StreamResponse:
        return await self.key_book.auth(request, key_name)

    async def _v1_projects(self, request: web.Request, key_name: str) -> web.StreamResponse:
        world = self.world
        items = [
            v1_project(p)
            for pid in world.sorted_ids
            if (p := world.projects[pid]).visible(key_name)
        ]
        return web.json_response(items)

    # -- control API -----------------------------------------------------------------------------

    async def _sim_revoke(self, request: web.Request) -> web.StreamResponse:
        try:
            self.revoke(request.match_info["name"])
        except KeyError:
            return error_response(404, "unknown key")
        return web.Response(status=204)

    async def _sim_restore(self, request: web.Request) -> web.StreamResponse:
        try:
            self.restore(request.match_info["name"])
        except KeyError:
            return error_response(404, "unknown key")
        return web.Response(status=204)

    async def _sim_add_fault(self, request: web.Request) -> web.StreamResponse:
        try:
            data = await _json_object(request)
            body = data.get("body")
            times = data.get("times", 1)
            fault = Fault(
                status=_opt_int(data.get("status")),
                route=_opt_str(data.get("route")),
                key_name=_opt_str(data.get("key_name")),
                times=_opt_int(times),
                retry_after=_opt_str(data.get("retry_after")),
                delay=float(data.get("delay") or 0.0),
                stall=float(data.get("stall") or 0.0),
                body=None if body is None else str(body).encode(),
                content_type=str(data.get("content_type") or "application/json"),
            )
        except (TypeError, ValueError) as exc:
            return error_response(400, str(exc))
        self.inject(fault)
        return web.Response(status=204)

    async def _sim_clear_faults(self, request: web.Request) -> web.StreamResponse:
        self.clear_faults()
        return web.Response(status=204)

    async def _sim_requests(self, request: web.Request) -> web.StreamResponse:
        by_route = Counter(r.route for r in self.requests)
        by_status = Counter(str(r.status) for r in self.requests)
        by_key = Counter(r.key_name or "" for r in self.requests)
        return web.json_response(
            {
                "total": self.requests_total,
                "recorded": len(self.requests),  # the by_ counts are over these, the newest
                "by_route": dict(by_route),
                "by_status": dict(by_status),
                "by_key": dict(by_key),
            }
        )

    async def _sim_add_project(self, request: web.Request) -> web.StreamResponse:
        try:
            data = await _json_object(request)
            visible = data.get("visible_to")
            if visible is not None and not isinstance(visible, list):
                raise TypeError("visible_to: must be a list of key names")
            project_id = self.add_project(
                project_id=_opt_str(data.get("project_id")),
                name=_opt_str(data.get("name")),
                pg_version=int(data.get("pg_version", 16)),
                region_id=str(data.get("region_id", "aws-us-east-2")),
                org_id=_opt_str(data.get("org_id")),
                size_bytes=int(data.get("size_bytes", 0)),
                endpoints=int(data.get("endpoints", 1)),
                visible_to=None if visible is None else [str(v) for v in visible],
                pooler_fields=_bool(data.get("pooler_fields", True), "pooler_fields"),
            )
        except (TypeError, ValueError) as exc:
            return error_response(400, str(exc))
        return web.json_response({"id": project_id})

    async def _sim_set_project(self, request: web.Request) -> web.StreamResponse:
        try:
            data = await _json_object(request)
            self.set_project(
                request.match_info["project_id"],
                size_bytes=_opt_int(data.get("size_bytes")),
                name=_opt_str(data.get("name")),
            )
        except KeyError:
            return error_response(404, "project not found")
        except (TypeError, ValueError) as exc:
            return error_response(400, str(exc))
        return web.Response(status=204)

    async def _sim_remove_project(self, request: web.Request) -> web.StreamResponse:
        try:
            self.remove_project(request.match_info["project_id"])
        except KeyError:
            return error_response(404, "project not found")
        return web.Response(status=204)

    async def _sim_set_endpoint(self, request: web.Request) -> web.StreamResponse:
        try:
            data = await _json_object(request)
            pooler = data.get("pooler_enabled")
            if pooler is not None and not isinstance(pooler, bool):
                raise TypeError("pooler_enabled: must be a boolean")
            self.set_endpoint(
                request.match_info["endpoint_id"],
                state=_opt_str(data.get("state")),
                pooler_enabled=pooler,
            )
        except KeyError:
            return error_response(404, "endpoint not found")
        except (TypeError, ValueError) as exc:
            return error_response(400, str(exc))
        return web.Response(status=204)

    async def _sim_unavailable(self, request: web.Request) -> web.StreamResponse:
        try:
            data = await _json_object(request)
            ids = data.get("project_ids", [])
            if not isinstance(ids, list):
                raise TypeError("project_ids: must be a list")
        except (TypeError, ValueError) as exc:
            return error_response(400, str(exc))
        self.mark_unavailable([str(i) for i in ids])
        return web.Response(status=204)


async def _stalled(request: web.Request, answer: web.Response, stall: float) -> web.StreamResponse:
    """``answer`` sent as headers and half its body, then nothing for ``stall`` seconds: a read
    timeout after the status line has been seen."""
    body = answer.body if isinstance(answer.body, bytes) else b""
    out = web.StreamResponse(status=answer.status, headers=answer.headers)
    out.content_length = len(body)
    await out.prepare(request)
    await out.write(body[: len(body) // 2])
    await asyncio.sleep(stall)
    await out.write(body[len(body) // 2 :])
    await out.write_eof()
    return out


def _parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError("date-time without a time zone")
    return when.astimezone(UTC)


def _round(when: datetime, granularity: str) -> datetime:
    """Round down to the granularity, as Neon does with ``from`` and ``to``."""
    when = when.replace(minute=0, second=0, microsecond=0)
    if granularity in ("daily", "monthly"):
        when = when.replace(hour=0)
    if granularity == "monthly":
        when = when.replace(day=1)
    return when


def _next(start: datetime, granularity: str) -> datetime:
    if granularity == "hourly":
        return start + timedelta(hours=1)
    if granularity == "daily":
        return start + timedelta(days=1)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    data = json.loads(raw)  # json.JSONDecodeError is a ValueError
    if not isinstance(data, dict):
        raise TypeError("body must be a JSON object")
    return data


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: must be a boolean")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
