"""The simulated account's user and organizations, as Neon's current document describes them:
``GET /users/me``, ``GET /organizations/{org_id}``, its members and invitations, and its VPC
endpoints (``/organizations/{org_id}/vpc/vpc_endpoints`` and each one's detail).

Hooked into the app with one call, :func:`add_routes`. The demo fills one organization with
:meth:`Organizations.populate_demo`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from exporter.simulator.api import error_response
from exporter.simulator.billing import FREE, PLAN_NAME
from exporter.simulator.model import rfc3339, utcnow

if TYPE_CHECKING:
    from exporter.simulator.app import Simulator

ROUTE_USER = "/users/me"
ROUTE_ORG = "/organizations/{org_id}"
ROUTE_MEMBERS = "/organizations/{org_id}/members"
ROUTE_INVITATIONS = "/organizations/{org_id}/invitations"
ROUTE_VPC = "/organizations/{org_id}/vpc/vpc_endpoints"
ROUTE_VPC_ONE = "/organizations/{org_id}/vpc/region/{region_id}/vpc_endpoints/{vpc_endpoint_id}"
MAX_MEMBERS_LIMIT = 500
DAY = timedelta(days=1)


@dataclass
class SimMember:
    email: str
    role: str  # admin, member, editor, viewer, collaborator
    has_mfa: bool = True
    deactivated_at: datetime | None = None
    joined_at: datetime = field(default_factory=lambda: utcnow() - 100 * DAY)
    id: str = ""  # derived from the e-mail when not given: the same ids every run
    user_id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or str(uuid.uuid5(uuid.NAMESPACE_URL, "member:" + self.email))
        self.user_id = self.user_id or str(uuid.uuid5(uuid.NAMESPACE_URL, "user:" + self.email))


@dataclass
class SimInvitation:
    email: str
    role: str
    invited_at: datetime
    id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or str(uuid.uuid5(uuid.NAMESPACE_URL, "invitation:" + self.email))


@dataclass
class SimVpcEndpoint:
    id: str  # the cloud provider's id, e.g. vpce-...
    label: str
    region_id: str
    state: str  # new, accepted (the document's values)
    restricted: list[str] = field(default_factory=list)  # project ids


@dataclass
class SimOrg:
    require_mfa: bool = False
    members: list[SimMember] = field(default_factory=list)
    invitations: list[SimInvitation] = field(default_factory=list)
    vpc_endpoints: list[SimVpcEndpoint] = field(default_factory=list)


@dataclass
class Organizations:
    """The user behind the personal keys, and what each organization holds."""

    projects_limit: int = 100
    branches_limit: int = 10
    max_autoscaling_limit: float = 16.0
    billing_state: str | None = "active"  # None: no billing account
    orgs: dict[str, SimOrg] = field(default_factory=dict)

    def org(self, org_id: str) -> SimOrg:
        return self.orgs.setdefault(org_id, SimOrg())

    def populate_demo(self, org_id: str, projects: list[str]) -> None:
        """An organization worth looking at: an admin without MFA where MFA is not required,
        a deactivated member still listed, a week-old invitation and one accepted, a VPC
        endpoint accepted and restricting four projects (Neon names three) and one still pending."""
        now = utcnow()
        org = self.org(org_id)
        org.members = [
            SimMember("ada@example.com", "admin"),
            SimMember("grace@example.com", "admin", has_mfa=False),
            SimMember("linus@example.com", "member"),
            SimMember("ken@example.com", "member", deactivated_at=now - 20 * DAY),
            SimMember("barbara@example.com", "collaborator", has_mfa=False),
        ]
        org.invitations = [
            SimInvitation("margaret@example.com", "member", now - 8 * DAY),
            SimInvitation("linus@example.com", "member", now - 100 * DAY),  # accepted
        ]
        org.vpc_endpoints = [
            SimVpcEndpoint("vpce-0a1b2c3d4e5f60001", "prod-vpc", "aws-us-east-2", "accepted"),
            SimVpcEndpoint("vpce-0a1b2c3d4e5f60002", "staging-vpc", "aws-us-east-2", "new"),
        ]
        org.vpc_endpoints[0].restricted = projects[:4]


def user_json(orgs: Organizations, plan: str) -> dict[str, Any]:
    """A ``CurrentUserInfoResponse`` (the identity fields are placeholders)."""
    body: dict[str, Any] = {
        "active_seconds_limit": 0,
        "id": "7b5e1a4c-2f0d-4a8e-9c3b-6d1f0e2a4b5c",
        "email": "owner@example.com",
        "login": "owner",
        "name": "Simulated",
        "last_name": "User",
        "image": "",
        "projects_limit": orgs.projects_limit,
        "branches_limit": orgs.branches_limit,
        "max_autoscaling_limit": orgs.max_autoscaling_limit,
        "auth_accounts": [],
        "plan": plan,
    }
    if orgs.billing_state is not None:
        body["billing_account"] = _billing_account(orgs.billing_state)
    return body


def _billing_account(state: str) -> dict[str, Any]:
    blank = ("name", "email", "address_city", "address_country", "address_line1")
    return {
        "state": state,
        "payment_source": {"type": "card"},
        "subscription_type": "launch_v3",
        "payment_method": "stripe",
        "quota_reset_at_last": rfc3339(utcnow().replace(day=1)),
        **dict.fromkeys(blank, ""),
        "email": "billing@example.com",
        "address_line2": "",
        "address_postal_code": "",
        "address_state": "",
    }


def member_json(org_id: str, m: SimMember) -> dict[str, Any]:
    user: dict[str, Any] = {"email": m.email, "has_mfa": m.has_mfa}
    if m.deactivated_at is not None:
        user["deactivated_at"] = rfc3339(m.deactivated_at)
    member = {"id": m.id, "user_id": m.user_id, "org_id": org_id, "role": m.role}
    return {"member": member | {"joined_at": rfc3339(m.joined_at)}, "user": user}


def invitation_json(org_id: str, i: SimInvitation) -> dict[str, Any]:
    return {
        "id": i.id,
        "email": i.email,
        "org_id": org_id,
        "invited_by": "7b5e1a4c-2f0d-4a8e-9c3b-6d1f0e2a4b5c",
        "invited_at": rfc3339(i.invited_at),
        "role": i.role,
    }


def vpc_detail_json(e: SimVpcEndpoint) -> dict[str, Any]:
    return {
        "vpc_endpoint_id": e.id,
        "label": e.label,
        "state": e.state,
        "num_restricted_projects": len(e.restricted),
        "example_restricted_projects": e.restricted[:3],  # "at most 3", says the document
    }


def add_routes(router: web.UrlDispatcher, sim: Simulator) -> None:
    """Serve the routes of this module through the simulator's auth, faults and request log."""
    h = Handlers(sim)
    for route, handler in (
        (ROUTE_USER, h.user),
        (ROUTE_MEMBERS, h.members),
        (ROUTE_INVITATIONS, h.invitations),
        (ROUTE_VPC, h.vpc_endpoints),
        (ROUTE_VPC_ONE, h.vpc_endpoint),
        (ROUTE_ORG, h.organization),
    ):
        router.add_get("/api/v2" + route, sim.api_route("v2", route, handler))


class Handlers:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def orgs(self) -> Organizations:
        return self.sim.organizations

    def _plan(self, key_name: str, org_id: str | None) -> str:
        return PLAN_NAME[self.sim.billing.plan_of(key_name, org_id)]

    def _visible(self, request: web.Request, key_name: str) -> str | None:
        """The path's organization if the key may read it (a member's, or the org key's own)."""
        org_id = request.match_info["org_id"]
        owner = self.sim.key_book.keys[key_name].owner
        members = self.sim.world.org_ids() | set(self.sim.key_book.orgs)
        members |= set(self.sim.billing.org_plans)
        if org_id not in members or (owner is not None and owner != org_id):
            return None
        return org_id

    async def user(self, request: web.Request, key_name: str) -> web.StreamResponse:
        if self.sim.key_book.keys[key_name].owner is not None:
            return error_response(403, "organization API keys have no user")
        return web.json_response(user_json(self.orgs, self._plan(key_name, None)))

    async def organization(self, request: web.Request, key_name: str) -> web.StreamResponse:
        org_id = self._visible(request, key_name)
        if org_id is None:
            return error_response(404, "organization not found")
        at = rfc3339(utcnow() - 90 * DAY)
        body = {
            "id": org_id,
            "name": org_id,
            "handle": org_id,
            "plan": self._plan(key_name, org_id),
            "created_at": at,
            "updated_at": at,
            "managed_by": "console",
            "require_mfa": self.orgs.org(org_id).require_mfa,
        }
        return web.json_response(body)

    async def members(self, request: web.Request, key_name: str) -> web.StreamResponse:
        org_id = self._visible(request, key_name)
        if org_id is None:
            return error_response(404, "organization not found")
        try:
            limit = int(request.query.get("limit") or MAX_MEMBERS_LIMIT)
            start = int(request.query.get("cursor") or "0")
        except ValueError:
            return error_response(400, "limit and cursor must be integers")
        if not 1 <= limit <= MAX_MEMBERS_LIMIT or start < 0:
            return error_response(400, f"limit: between 1 and {MAX_MEMBERS_LIMIT}")
        members = sorted(self.orgs.org(org_id).members, key=lambda m: m.joined_at, reverse=True)
        page = members[start : start + limit]
        pagination: dict[str, Any] = {"sort_by": "joined_at", "sort_order": "desc"}
        if start + limit < len(members):  # the cursor is opaque to clients; here an offset
            pagination["next"] = str(start + limit)
        body = {"members": [member_json(org_id, m) for m in page], "pagination": pagination}
        return web.json_response(body)

    async def invitations(self, request: web.Request, key_name: str) -> web.StreamResponse:
        org_id = self._visible(request, key_name)
        if org_id is None:
            return error_response(404, "organization not found")
        items = [invitation_json(org_id, i) for i in self.orgs.org(org_id).invitations]
        return web.json_response({"invitations": items})

    def _vpc(self, request: web.Request, key_name: str) -> SimOrg | web.Response:
        org_id = self._visible(request, key_name)
        if org_id is None:
            return error_response(404, "organization not found")
        if self.sim.billing.plan_of(key_name, org_id) == FREE:
            return error_response(403, "Private Networking is not available on this plan")
        return self.orgs.org(org_id)

    async def vpc_endpoints(self, request: web.Request, key_name: str) -> web.StreamResponse:
        org = self._vpc(request, key_name)
        if isinstance(org, web.Response):
            return org
        items = [
            {"vpc_endpoint_id": e.id, "label": e.label, "region_id": e.region_id}
            for e in org.vpc_endpoints
        ]
        return web.json_response({"endpoints": items})

    async def vpc_endpoint(self, request: web.Request, key_name: str) -> web.StreamResponse:
        org = self._vpc(request, key_name)
        if isinstance(org, web.Response):
            return org
        region, wanted = request.match_info["region_id"], request.match_info["vpc_endpoint_id"]
        for e in org.vpc_endpoints:
            if e.id == wanted and e.region_id == region:
                return web.json_response(vpc_detail_json(e))
        return error_response(404, "VPC endpoint not found")
