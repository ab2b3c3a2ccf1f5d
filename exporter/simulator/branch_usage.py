"""``GET /consumption_history/v2/branches``: usage per branch on usage-based plans, as Neon's
current document describes it (the six metrics it supports, 1 to 100 projects of one
organization, up to 1,000 branches a page ordered by project then branch id, a cursor)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from exporter.simulator import consumption
from exporter.simulator.api import error_response
from exporter.simulator.billing import PERIOD_ID, USAGE_BASED, V2_METRICS, v2_metrics, v2_period
from exporter.simulator.model import SimBranch, SimProject, utcnow

if TYPE_CHECKING:
    from exporter.simulator.app import Simulator

ROUTE = "/consumption_history/v2/branches"
# The route's six metrics (Neon's document): the v2 project metrics but extra branches and
# snapshot storage, which are not per branch.
METRICS = tuple(
    m for m in V2_METRICS if m not in ("extra_branches_month", "snapshot_storage_bytes_month")
)
MAX_LIMIT, DEFAULT_LIMIT, MAX_PROJECTS = 1000, 100, 100


def branch_metrics(project: SimProject, branch: SimBranch) -> dict[str, int]:
    """A project's metrics shared evenly by its branches; root storage on the default one."""
    values, n = v2_metrics(project), max(1, len(project.branches))
    out = {m: values[m] // n for m in METRICS}
    out["root_branch_bytes_month"] = values["root_branch_bytes_month"] if branch.default else 0
    out["child_branch_bytes_month"] = 0 if branch.default else out["child_branch_bytes_month"]
    return out


def _json(
    p: SimProject, b: SimBranch, metrics: list[str], frame: consumption.Frame | None
) -> dict[str, Any]:
    period = v2_period(branch_metrics(p, b), metrics, frame, utcnow(), PERIOD_ID)
    return {"project_id": p.id, "branch_id": b.id, "periods": [period]}


def _check(sim: Simulator, q: Any, key_name: str) -> web.Response | None:
    """The 400, 404, 403 or 406 Neon answers to this query, or None."""
    org_id, granularity = q.get("org_id") or "", q.get("granularity")
    metrics, ids = consumption.listed(q, "metrics"), consumption.listed(q, "project_ids")
    if not org_id or not ids or len(ids) > MAX_PROJECTS:
        return error_response(400, "org_id and 1 to 100 project_ids are required")
    if granularity not in consumption.GRANULARITIES:
        return error_response(400, "granularity: one of hourly, daily, monthly")
    if not metrics or set(metrics) - set(METRICS):
        return error_response(400, f"metrics: required, of {', '.join(METRICS)}")
    try:
        since = consumption.round_down(consumption.parse_time(q["from"]), granularity)
        limit = int(q.get("limit") or DEFAULT_LIMIT)
    except (KeyError, ValueError):
        return error_response(400, "from, to: RFC 3339 date-times; limit: an integer")
    if not 1 <= limit <= MAX_LIMIT:
        return error_response(400, f"limit: 1 to {MAX_LIMIT}")
    members = sim.world.org_ids() | set(sim.billing.org_plans)
    if org_id not in members:
        return error_response(404, "Account is not a member of the organization")
    if sim.billing.plan_of(key_name, org_id) != USAGE_BASED:
        return error_response(403, "Branch consumption history requires a paid usage-based plan")
    reach = consumption.HISTORY_REACH[granularity]
    if since < max(consumption.HISTORY_START, utcnow() - reach):
        return error_response(406, f"from: outside the {granularity} history")
    return None


async def handler(sim: Simulator, request: web.Request, key_name: str) -> web.StreamResponse:
    q = request.query
    error = _check(sim, q, key_name)
    if error is not None:
        return error
    frame = consumption.current_frame(q, q["granularity"], utcnow())
    wanted = set(consumption.listed(q, "project_ids"))
    rows = sorted(
        (p.id, b.id, p, b)
        for pid in sim.world.sorted_ids
        if pid in wanted
        and (p := sim.world.projects[pid]).visible(key_name)
        and p.org_id == q["org_id"]
        for b in p.branches
    )
    cursor = q.get("cursor") or ""
    rows = [r for r in rows if f"{r[0]}/{r[1]}" > cursor]
    page = rows[: int(q.get("limit") or DEFAULT_LIMIT)]
    metrics = consumption.listed(q, "metrics")
    body: dict[str, Any] = {"branches": [_json(p, b, metrics, frame) for _, _, p, b in page]}
    if page:
        body["pagination"] = {"cursor": f"{page[-1][0]}/{page[-1][1]}"}
    return web.json_response(body)


def add_route(router: web.UrlDispatcher, sim: Simulator) -> None:
    async def answer(request: web.Request, key_name: str) -> web.StreamResponse:
        return await handler(sim, request, key_name)

    router.add_get("/api/v2" + ROUTE, sim.api_route("v2", ROUTE, answer))
