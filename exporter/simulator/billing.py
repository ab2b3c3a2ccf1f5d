"""Plans, usage-based consumption history, organizations and spending limits of the simulated
account, as Neon's current document describes them.

Neon bills per organization: an organization (or an account's projects without one) is on a
usage-based plan (Launch, Scale, Agent, Business, Enterprise: ``GET
/consumption_history/v2/projects`` answers, the legacy route is 403), a legacy plan (the legacy
``GET /consumption_history/projects`` answers, v2 is 403), or a free plan (both 403). Tests set
the plan per organization or per key, so one simulator can hold all three and show the exporter
learning which route works for which.

Hooked into the app with one call, :func:`add_routes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from exporter.simulator import consumption
from exporter.simulator.api import error_response
from exporter.simulator.model import SimProject, rfc3339, utcnow

if TYPE_CHECKING:
    from exporter.simulator.app import Simulator

USAGE_BASED, LEGACY, FREE = "usage", "legacy", "free"
PLANS = (USAGE_BASED, LEGACY, FREE)
PLAN_NAME = {USAGE_BASED: "launch", LEGACY: "scale", FREE: "free"}  # Organization.plan

ROUTE_V2_CONSUMPTION = "/consumption_history/v2/projects"
ROUTE_ORGANIZATIONS = "/users/me/organizations"
ROUTE_SPENDING_LIMIT = "/organizations/{org_id}/billing/spending_limit"
V2_METRICS = (
    "compute_unit_seconds",
    "root_branch_bytes_month",
    "child_branch_bytes_month",
    "instant_restore_bytes_month",
    "public_network_transfer_bytes",
    "private_network_transfer_bytes",
    "extra_branches_month",
    "snapshot_storage_bytes_month",
)
MAX_V2_LIMIT = 100
DEFAULT_V2_LIMIT = 10
PERIOD_ID = "5d0ec9a5-3b8f-4b5e-9c40-3f1f8a2d7e11"  # one billing period, the current one
DEFAULT_SPENDING_LIMIT_CENTS = 50_000  # $500 a month


@dataclass
class Billing:
    """Who is on which plan, and each organization's spending limit."""

    plan: str = LEGACY  # for organizations and keys not named below
    org_plans: dict[str, str] = field(default_factory=dict)
    key_plans: dict[str, str] = field(default_factory=dict)
    # org id -> cents; None: no limit set. Organizations not named have the default.
    spending_limits: dict[str, int | None] = field(default_factory=dict)
    v2_page_size: int = MAX_V2_LIMIT  # caps v2 pages below the limit asked for, to test paging

    def __post_init__(self) -> None:
        for plan in (self.plan, *self.org_plans.values(), *self.key_plans.values()):
            if plan not in PLANS:
                raise ValueError(f"plan {plan!r}: one of {', '.join(PLANS)}")

    def plan_of(self, key_name: str, org_id: str | None) -> str:
        """The plan a request of ``key_name`` about ``org_id`` (None: no organization) sees."""
        if org_id is not None and org_id in self.org_plans:
            return self.org_plans[org_id]
        return self.key_plans.get(key_name, self.plan)

    def spending_limit(self, org_id: str) -> int | None:
        return self.spending_limits.get(org_id, DEFAULT_SPENDING_LIMIT_CENTS)


def v2_metrics(project: SimProject) -> dict[str, int]:
    """The current period's usage-based metrics of a project, derived from its usage fields so
    tests can move them (and compare what the exporter serves with these)."""
    return {
        "compute_unit_seconds": project.compute_time_seconds * 2,
        "root_branch_bytes_month": project.size_bytes * 3 // 4,
        "child_branch_bytes_month": project.size_bytes // 4,
        "instant_restore_bytes_month": project.written_data_bytes // 3,
        "public_network_transfer_bytes": project.data_transfer_bytes,
        "private_network_transfer_bytes": project.data_transfer_bytes // 10,
        "extra_branches_month": max(0, len(project.branches) - 10),
        "snapshot_storage_bytes_month": project.size_bytes // 10,
    }


def _period(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def v2_period(
    values: Mapping[str, int],
    metrics: list[str],
    frame: consumption.Frame | None,
    now: datetime,
    period_id: str,
) -> dict[str, Any]:
    """The current billing period of a v2 consumption history item: one timeframe of the
    ``metrics`` asked for if ``frame`` is in range, none otherwise."""
    frames = []
    if frame is not None:
        frames.append(
            {
                "timeframe_start": rfc3339(frame[0]),
                "timeframe_end": rfc3339(frame[1]),
                "metrics": [{"metric_name": m, "value": values[m]} for m in metrics],
            }
        )
    return {
        "period_id": period_id,
        "period_plan": "launch",
        "period_start": rfc3339(_period(now)),
        "consumption": frames,
    }


def v2_consumption_json(
    project: SimProject, metrics: list[str], frame: consumption.Frame | None, now: datetime
) -> dict[str, Any]:
    """A ``ConsumptionHistoryPerProjectV2``: the current period, one timeframe if in range."""
    period = v2_period(v2_metrics(project), metrics, frame, now, PERIOD_ID)
    return {"project_id": project.id, "periods": [period]}


def _split(values: list[str]) -> list[str]:
    return [v for value in values for v in value.split(",") if v]


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    """Serve the routes of this module through the simulator's auth, faults and request log."""
    handlers = Handlers(sim)
    for path, route, handler in (
        (ROUTE_V2_CONSUMPTION, ROUTE_V2_CONSUMPTION, handlers.v2_consumption),
        (ROUTE_ORGANIZATIONS, ROUTE_ORGANIZATIONS, handlers.organizations),
        (ROUTE_SPENDING_LIMIT, ROUTE_SPENDING_LIMIT, handlers.spending_limit),
    ):
        router.add_get("/api/v2" + path, sim._api("v2", route, handler))


class Handlers:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def billing(self) -> Billing:
        return self.sim.billing

    def _member_orgs(self) -> set[str]:
        return self.sim.world.org_ids() | set(self.billing.org_plans)

    async def v2_consumption(self, request: web.Request, key_name: str) -> web.StreamResponse:
        err = error_response
        q = request.query
        org_id = q.get("org_id") or ""
        granularity = q.get("granularity")
        metrics = _split(q.getall("metrics", []))
        ids = _split(q.getall("project_ids", []))
        if not org_id:
            return err(400, "org_id: required")
        if granularity not in consumption.GRANULARITIES:
            return err(400, "granularity: one of hourly, daily, monthly")
        if not metrics or set(metrics) - set(V2_METRICS):
            return err(400, f"metrics: required, of {', '.join(V2_METRICS)}")
        now = utcnow()
        try:
            frame = consumption.current_frame(q, granularity, now)
            since = consumption.round_down(consumption.parse_time(q["from"]), granularity)
            limit = int(q.get("limit") or DEFAULT_V2_LIMIT)
        except (KeyError, ValueError):
            return err(400, "from, to: RFC 3339 date-times; limit: an integer")
        if not 1 <= limit <= MAX_V2_LIMIT or len(ids) > MAX_V2_LIMIT:
            return err(400, f"limit, project_ids: at most {MAX_V2_LIMIT}")
        if org_id not in self._member_orgs():
            return err(404, "account is not a member of the organization")
        if self.billing.plan_of(key_name, org_id) != USAGE_BASED:
            return err(
                403,
                "Project consumption history requires a Launch, Scale, Agent, Business, or "
                "Enterprise plan.",
            )
        if since < max(consumption.HISTORY_START, now - consumption.HISTORY_REACH[granularity]):
            return err(406, f"from: outside the {granularity} history")
        page = self._page(key_name, org_id, ids, q.get("cursor") or "", limit)
        body: dict[str, Any] = {
            "projects": [v2_consumption_json(p, metrics, frame, now) for p in page]
        }
        if page:
            body["pagination"] = {"cursor": page[-1].id}
        return web.json_response(body)

    def _page(
        self, key_name: str, org_id: str, ids: list[str], cursor: str, limit: int
    ) -> list[SimProject]:
        """One page, newest project first as the document says; the cursor is the last id."""
        world = self.sim.world
        wanted = set(ids)
        projects = sorted(
            (
                p
                for pid in world.sorted_ids
                if (p := world.projects[pid]).visible(key_name)
                and p.org_id == org_id
                and (not wanted or pid in wanted)
            ),
            key=lambda p: (p.created_at, p.id),
            reverse=True,
        )
        start = 0
        if cursor:
            after = [i for i, p in enumerate(projects) if p.id == cursor]
            start = after[0] + 1 if after else len(projects)
        return projects[start : start + min(limit, self.billing.v2_page_size)]

    async def organizations(self, request: web.Request, key_name: str) -> web.StreamResponse:
        created = rfc3339(datetime(2024, 3, 1, tzinfo=UTC))
        orgs = [
            {
                "id": org_id,
                "name": org_id,
                "handle": org_id,
                "plan": PLAN_NAME[self.billing.plan_of(key_name, org_id)],
                "created_at": created,
                "updated_at": created,
                "managed_by": "console",
            }
            for org_id in sorted(self._member_orgs())
        ]
        return web.json_response({"organizations": orgs})

    async def spending_limit(self, request: web.Request, key_name: str) -> web.StreamResponse:
        org_id = request.match_info["org_id"]
        if org_id not in self._member_orgs():
            return error_response(404, "organization not found")
        # "Available to organization members with read access on Launch and Scale plans only."
        if self.billing.plan_of(key_name, org_id) != USAGE_BASED:
            return error_response(403, "spending limits require a Launch or Scale plan")
        return web.json_response({"spending_limit_cents": self.billing.spending_limit(org_id)})


__all__ = ["FREE", "LEGACY", "USAGE_BASED", "Billing", "add_routes", "v2_metrics"]
