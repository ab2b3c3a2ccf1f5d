"""The tests' HTTP control API under ``/_sim/``, for a simulator running as its own process.

Unauthenticated: revoke/restore keys, inject and clear faults, edit the world, read the request
counts. Only the tests' simulator serves it; the package's (the demo's) has none of it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from aiohttp import web

from exporter.simulator import error_response
from tests.sim.faults import Fault

if TYPE_CHECKING:
    from tests.sim.simulator import Simulator

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SimHandler = Callable[["Simulator", web.Request], Awaitable[web.StreamResponse]]
NO_CONTENT = 204


def add_control_routes(app: web.Application, sim: Simulator) -> None:
    def bound(handler: _SimHandler) -> _Handler:
        return partial(handler, sim)

    r = app.router
    r.add_post("/_sim/keys/{name}/revoke", bound(_revoke))
    r.add_post("/_sim/keys/{name}/restore", bound(_restore))
    r.add_post("/_sim/faults", bound(_add_fault))
    r.add_delete("/_sim/faults", bound(_clear_faults))
    r.add_get("/_sim/requests", bound(_requests))
    r.add_post("/_sim/projects", bound(_add_project))
    r.add_post("/_sim/projects/{project_id}", bound(_set_project))
    r.add_delete("/_sim/projects/{project_id}", bound(_remove_project))
    r.add_post("/_sim/endpoints/{endpoint_id}", bound(_set_endpoint))
    r.add_post("/_sim/unavailable", bound(_unavailable))


async def _revoke(sim: Simulator, request: web.Request) -> web.StreamResponse:
    try:
        sim.revoke(request.match_info["name"])
    except KeyError:
        return error_response(404, "unknown key")
    return web.Response(status=NO_CONTENT)


async def _restore(sim: Simulator, request: web.Request) -> web.StreamResponse:
    try:
        sim.restore(request.match_info["name"])
    except KeyError:
        return error_response(404, "unknown key")
    return web.Response(status=NO_CONTENT)


async def _add_fault(sim: Simulator, request: web.Request) -> web.StreamResponse:
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
    sim.inject(fault)
    return web.Response(status=NO_CONTENT)


async def _clear_faults(sim: Simulator, request: web.Request) -> web.StreamResponse:
    sim.clear_faults()
    return web.Response(status=NO_CONTENT)


async def _requests(sim: Simulator, request: web.Request) -> web.StreamResponse:
    by_route = Counter(r.route for r in sim.requests)
    by_status = Counter(str(r.status) for r in sim.requests)
    by_key = Counter(r.key_name or "" for r in sim.requests)
    return web.json_response(
        {
            "total": sim.requests_total,
            "recorded": len(sim.requests),  # the by_ counts are over these, the newest
            "by_route": dict(by_route),
            "by_status": dict(by_status),
            "by_key": dict(by_key),
        }
    )


async def _add_project(sim: Simulator, request: web.Request) -> web.StreamResponse:
    try:
        data = await _json_object(request)
        visible = data.get("visible_to")
        if visible is not None and not isinstance(visible, list):
            raise TypeError("visible_to: must be a list of key names")
        project_id = sim.add_project(
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


async def _set_project(sim: Simulator, request: web.Request) -> web.StreamResponse:
    try:
        data = await _json_object(request)
        sim.set_project(
            request.match_info["project_id"],
            size_bytes=_opt_int(data.get("size_bytes")),
            name=_opt_str(data.get("name")),
        )
    except KeyError:
        return error_response(404, "project not found")
    except (TypeError, ValueError) as exc:
        return error_response(400, str(exc))
    return web.Response(status=NO_CONTENT)


async def _remove_project(sim: Simulator, request: web.Request) -> web.StreamResponse:
    try:
        sim.remove_project(request.match_info["project_id"])
    except KeyError:
        return error_response(404, "project not found")
    return web.Response(status=NO_CONTENT)


async def _set_endpoint(sim: Simulator, request: web.Request) -> web.StreamResponse:
    try:
        data = await _json_object(request)
        pooler = data.get("pooler_enabled")
        if pooler is not None and not isinstance(pooler, bool):
            raise TypeError("pooler_enabled: must be a boolean")
        sim.set_endpoint(
            request.match_info["endpoint_id"],
            state=_opt_str(data.get("state")),
            pooler_enabled=pooler,
        )
    except KeyError:
        return error_response(404, "endpoint not found")
    except (TypeError, ValueError) as exc:
        return error_response(400, str(exc))
    return web.Response(status=NO_CONTENT)


async def _unavailable(sim: Simulator, request: web.Request) -> web.StreamResponse:
    try:
        data = await _json_object(request)
        ids = data.get("project_ids", [])
        if not isinstance(ids, list):
            raise TypeError("project_ids: must be a list")
    except (TypeError, ValueError) as exc:
        return error_response(400, str(exc))
    sim.mark_unavailable([str(i) for i in ids])
    return web.Response(status=NO_CONTENT)


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
