"""Account limits and standing (``--collector.account``, off by default; v2 only), refreshed
hourly.

A personal key: ``GET /users/me``, its user's limits (projects, branches per project, the
autoscaling maximum of a compute), plan and billing account's state; 1 request. An
organization key has no user: it gets ``GET /organizations/{org_id}`` instead, the
organization's plan and whether it requires MFA, for the organization that owns it (``GET
/users/me/organizations``, which for an organization key answers that one organization: 1
more request, none when ``org_id`` is configured). A personal key configured with ``org_id``
gets that organization's too (its projects are billed on the organization's plan). An
organization the key may not read (403, 404) has no series; the rest still counts.

Nothing identifying a person is kept (``/users/me`` also carries the user's id, e-mail, name
and billing address): the series carry the configured key's name.

Sample::

    neon_account_info{key="prod",plan="launch"} 1.0
    neon_account_projects_limit{key="prod"} 100.0
    neon_account_branches_limit{key="prod"} 10.0
    neon_account_max_autoscaling_limit_cu{key="prod"} 16.0
    neon_account_billing_state{key="prod",state="active"} 1.0
    neon_organization_info{org_id="org-demo-12345",plan="scale"} 1.0
    neon_organization_mfa_required{org_id="org-demo-12345"} 0.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from ..exposition.family import Family, Sample, flag, info, one
from ..neon.accounts import (
    BILLING_STATES,
    Organization,
    User,
    organization_ids,
    parse_organization,
    parse_user,
)
from ..neon.client import NeonClient
from .base import Area

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

NAME = "account"
ROUTE_USER = "/users/me"
ROUTE_ORG = "/organizations/{org_id}"
ORG_KEY = "api_key_org"  # GET /auth's auth_method of an organization key
ORG_AREAS = (NAME, "org_security")  # the areas whose data carries organizations


@dataclass(frozen=True, slots=True)
class Account:
    user: User | None  # None for an organization key
    organizations: tuple[Organization, ...]


async def organization(client: NeonClient, org_id: str) -> Organization | None:
    """``GET /organizations/{org_id}``; None where the key may not read it (403, 404)."""
    note = "organization not readable with this key"
    data = await client.get_unless(
        ROUTE_ORG, f"/organizations/{org_id}", absent=(403, 404), note=note
    )
    return None if data is None else client.parse_whole(ROUTE_ORG, parse_organization, data)


async def is_org_key(client: NeonClient) -> bool:
    """Whether the key is an organization's (the key probe's answer, at no extra request)."""
    auth = client.auth or await client.probe()
    return auth is not None and auth.auth_method == ORG_KEY


async def fetch(client: NeonClient) -> Account:
    org_key = await is_org_key(client)
    user = None
    if not org_key:
        data = await client.get(ROUTE_USER, ROUTE_USER)
        user = client.parse_whole(ROUTE_USER, parse_user, data)
    if client.org_id:
        org_ids: tuple[str, ...] = (client.org_id,)
    else:
        org_ids = await organization_ids(client) if org_key else ()
    orgs = [o for org_id in org_ids if (o := await organization(client, org_id)) is not None]
    return Account(user, tuple(orgs))


def _users(view: View) -> list[tuple[str, User]]:
    per_key = cast(Mapping[str, Account], view.per_key(NAME))
    return [(key, a.user) for key, a in sorted(per_key.items()) if a.user is not None]


def organizations(view: View) -> dict[str, Organization]:
    """Every organization read by this area or ``org_security``, over keys, each once."""
    out: dict[str, Organization] = {}
    for area in ORG_AREAS:
        for data in view.per_key(area).values():
            out.update((o.id, o) for o in data.organizations)
    return dict(sorted(out.items()))


def _user(value: Callable[[str, User], Iterable[Sample]]) -> Callable[[View], Iterable[Sample]]:
    return lambda view: (s for key, u in _users(view) for s in value(key, u))


def _billing(key: str, u: User) -> Iterable[Sample]:
    if not u.billing_state:
        return ()
    states: tuple[str, ...] = BILLING_STATES
    if u.billing_state not in states:  # a state the document does not list yet: still shown
        states = (*states, u.billing_state)
    return (((key, s), 1.0 if s == u.billing_state else 0.0) for s in states)


ORG_FAMILIES: tuple[Family[View], ...] = (
    Family(
        "neon_organization_info",
        "An organization the exporter's keys read (GET /organizations/{org_id}), with its "
        "plan, as last polled; always 1.",
        ("org_id", "plan"),
        lambda view: (s for o in organizations(view).values() for s in info(o.id, o.plan)),
        kind="info",
    ),
    Family(
        "neon_organization_mfa_required",
        "1 if the organization requires every member to use MFA (require_mfa), as last polled.",
        ("org_id",),
        lambda view: (s for o in organizations(view).values() for s in flag(o.require_mfa, o.id)),
    ),
)
"""Served by this area and by ``org_security`` (once, whichever is on)."""

VIEW_FAMILIES: tuple[Family[View], ...] = (
    Family(
        "neon_account_info",
        "The plan of the key's user (GET /users/me, personal keys), as last polled; always 1.",
        ("key", "plan"),
        _user(lambda key, u: info(key, u.plan)),
        kind="info",
    ),
    Family(
        "neon_account_projects_limit",
        "Projects the key's user may have (projects_limit), as last polled.",
        ("key",),
        _user(lambda key, u: one(u.projects_limit, key)),
    ),
    Family(
        "neon_account_branches_limit",
        "Branches each project of the key's user may have (branches_limit), as last polled.",
        ("key",),
        _user(lambda key, u: one(u.branches_limit, key)),
    ),
    Family(
        "neon_account_max_autoscaling_limit_cu",
        "The largest autoscaling maximum a compute of the key's user may have, in compute "
        "units (max_autoscaling_limit), as last polled; absent when none is configured.",
        ("key",),
        _user(lambda key, u: one(u.max_autoscaling_limit_cu, key)),
    ),
    Family(
        "neon_account_billing_state",
        "State of the key's user's billing account, as last polled: 1 for the current state.",
        ("key", "state"),
        _user(_billing),
    ),
    *ORG_FAMILIES,
)


AREA = Area(
    name=NAME,
    default=False,
    help="the account's limits, plan and billing state; an organization key's organization "
    "(every --collector.account.interval, hourly by default)",
    cost="1 request per key per interval (a personal key: GET /users/me; an organization key: "
    "GET /users/me/organizations and GET /organizations/{org_id}, 2), plus 1 for the "
    "organization of a configured org_id (an organization key then needs no list); none per "
    "project",
    view_families=VIEW_FAMILIES,
    fetch_account=fetch,
    on_interval=True,
)
