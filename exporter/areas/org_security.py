"""Organization security posture (``--collector.org_security``, off by default; v2 only),
refreshed hourly. For each organization of the key (its configured ``org_id``, else ``GET
/users/me/organizations``): ``GET /organizations/{org_id}`` (its plan, whether it requires
MFA), ``GET /organizations/{org_id}/members`` (500 a page) and ``GET
/organizations/{org_id}/invitations``.

Counts only, by organization and role: members, active members without MFA, deactivated
members still listed, pending invitations and when the oldest was sent. Neon lists "pending
and accepted invitations" without saying which is which: an invitation is counted pending while
no listed member has its e-mail address. E-mails and user ids are never labels here; the
further opt-in ``--collector.org_members_identity`` (:mod:`.org_members_identity`) shows each
member, from the same answers. An organization whose members or invitations the key may not
read (403, 404) has no such series; the area is still successful.

Sample::

    neon_organization_members{org_id="org-demo-12345",role="admin"} 2.0
    neon_organization_members_without_mfa{org_id="org-demo-12345",role="admin"} 1.0
    neon_organization_deactivated_members{org_id="org-demo-12345"} 1.0
    neon_organization_pending_invitations{org_id="org-demo-12345"} 1.0
    neon_organization_oldest_pending_invitation_timestamp_seconds{org_id="org-demo-12345"} 1.7e+09
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from ..exposition.family import Family, Sample, one
from ..neon.accounts import Organization, key_organizations
from ..neon.client import NeonClient
from ..neon.errors import MalformedResponse
from ..neon.members import Invitation, Member, parse_invitations, parse_member_page
from .account import ORG_FAMILIES, organization
from .base import Area

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

NAME = "org_security"
ROUTE_MEMBERS = "/organizations/{org_id}/members"
ROUTE_INVITATIONS = "/organizations/{org_id}/invitations"
ROLES = ("admin", "member", "editor", "viewer", "collaborator")  # MemberRole, in order
PAGE = 500  # the largest page the members route allows
MAX_PAGES = 100


@dataclass(frozen=True, slots=True)
class Posture:
    org_id: str
    members: tuple[Member, ...] | None  # None: not readable with this key
    invitations: tuple[Invitation, ...] | None


@dataclass(frozen=True, slots=True)
class OrgSecurity:
    organizations: tuple[Organization, ...]
    postures: tuple[Posture, ...]


async def _readable(client: NeonClient, route: str, path: str, params: dict[str, str]) -> object:
    """The answer, or None where the key may not read it (403, 404)."""
    return await client.get_unless(
        route, path, params, absent=(403, 404), note="not readable with this key"
    )


async def _members(client: NeonClient, org_id: str) -> tuple[Member, ...] | None:
    path, params = f"/organizations/{org_id}/members", {"limit": str(PAGE)}
    out: list[Member] = []
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        data = await _readable(client, ROUTE_MEMBERS, path, params)
        if data is None:
            return None
        page = client.parse_whole(ROUTE_MEMBERS, parse_member_page, data)
        client.count_skipped(ROUTE_MEMBERS, page.skipped)
        out += page.members
        if page.next is None or not page.members:
            return tuple(out)
        if page.next in seen:
            client.cursor_repeated(ROUTE_MEMBERS, org_id=org_id)
            return tuple(out)
        seen.add(page.next)
        params["cursor"] = page.next
    raise MalformedResponse(ROUTE_MEMBERS, f"more than {MAX_PAGES} pages")


async def _posture(client: NeonClient, org_id: str) -> Posture:
    members = await _members(client, org_id)
    path = f"/organizations/{org_id}/invitations"
    data = await _readable(client, ROUTE_INVITATIONS, path, {})
    invitations = None if data is None else client.parse(ROUTE_INVITATIONS, parse_invitations, data)
    return Posture(org_id, members, invitations)


async def fetch(client: NeonClient) -> OrgSecurity:
    orgs = await key_organizations(client)
    found = [o for org_id in orgs if (o := await organization(client, org_id)) is not None]
    return OrgSecurity(tuple(found), tuple([await _posture(client, o) for o in orgs]))


def postures(view: View) -> list[Posture]:
    """Every organization's posture over keys, each once (a readable one over one that is not)."""
    per_key = cast(Mapping[str, OrgSecurity], view.per_key(NAME))
    out: dict[str, Posture] = {}
    for data in per_key.values():
        for p in data.postures:
            old = out.get(p.org_id)
            if old is None or (old.members is None and p.members is not None):
                out[p.org_id] = p
    return [out[k] for k in sorted(out)]


def _active(p: Posture) -> list[Member]:
    return [m for m in p.members or () if not m.deactivated]


def _by_role(p: Posture, keep: Callable[[Member], bool]) -> Iterable[Sample]:
    members = [m for m in _active(p) if keep(m)]
    return (((p.org_id, r), float(sum(m.role == r for m in members))) for r in ROLES)


def _pending(p: Posture) -> list[Invitation]:
    emails = {m.email.lower() for m in p.members or ()}
    return [i for i in p.invitations or () if i.email.lower() not in emails]


def _without_mfa(p: Posture) -> Iterable[Sample]:
    if not any(m.has_mfa is not None for m in _active(p)):
        return ()  # Neon did not say: absent, never 0
    return _by_role(p, lambda m: m.has_mfa is False)


def _each(value: Callable[[Posture], Iterable[Sample]]) -> Callable[[View], Iterable[Sample]]:
    return lambda view: (s for p in postures(view) for s in value(p))


def _oldest(p: Posture) -> Iterable[Sample]:
    times = [t for i in _pending(p) if (t := i.invited_at) is not None]
    return one(min(times) if times else None, p.org_id)


VIEW_FAMILIES: tuple[Family[View], ...] = (
    *ORG_FAMILIES,
    Family(
        "neon_organization_members",
        "Active members of the organization by role, as last polled.",
        ("org_id", "role"),
        _each(lambda p: _by_role(p, lambda m: True) if p.members is not None else ()),
    ),
    Family(
        "neon_organization_members_without_mfa",
        "Active members of the organization by role who have no MFA (has_mfa false), as last "
        "polled.",
        ("org_id", "role"),
        _each(_without_mfa),
    ),
    Family(
        "neon_organization_deactivated_members",
        "Members whose user account is deactivated but who are still listed, as last polled.",
        ("org_id",),
        _each(lambda p: one(sum(m.deactivated for m in p.members), p.org_id) if p.members else ()),
    ),
    Family(
        "neon_organization_pending_invitations",
        "Invitations to the organization that no listed member has accepted, as last polled.",
        ("org_id",),
        _each(lambda p: one(len(_pending(p)), p.org_id) if p.invitations is not None else ()),
    ),
    Family(
        "neon_organization_oldest_pending_invitation_timestamp_seconds",
        "Unix time the oldest pending invitation was sent, as last polled; absent when none.",
        ("org_id",),
        _each(_oldest),
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="each organization's members by role and MFA, deactivated members, pending "
    "invitations, whether MFA is required (every --collector.org_security.interval, hourly by "
    "default)",
    cost="3 requests per organization per key per interval (organization, members: 1 per 500 "
    "members, invitations), plus 1 for the key's organizations when no org_id is configured; "
    "none per project",
    view_families=VIEW_FAMILIES,
    fetch_account=fetch,
    on_interval=True,
)
