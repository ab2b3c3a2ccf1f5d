"""The account a key belongs to: models and parsers of ``GET /users/me`` (a personal key's user:
its limits, plan and billing account's state) and ``GET /organizations/{org_id}`` (an
organization's plan and whether it requires MFA).

Nothing that identifies a person is kept: ``/users/me`` also carries the user's id, e-mail and
name, and its billing account an address; none of them is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .client import NeonClient
from .fields import BadItem, ParseError, opt_boolean, opt_integer, opt_number, opt_string, string
from .parse import parse_organization_ids

BILLING_STATES = ("UNKNOWN", "active", "suspended", "deactivated", "deleted")
"""``BillingAccountState``, in the document's order."""


@dataclass(frozen=True, slots=True)
class User:
    """A personal key's user, from ``GET /users/me`` (no identity kept)."""

    plan: str
    projects_limit: int | None
    branches_limit: int | None  # per project
    max_autoscaling_limit_cu: float | None  # None: no limit configured (Neon's 0)
    billing_state: str  # the billing account's state; "" without a billing account


@dataclass(frozen=True, slots=True)
class Organization:
    """``GET /organizations/{org_id}``: its plan, and whether its members must use MFA."""

    id: str
    plan: str
    require_mfa: bool | None  # None: not sent


def parse_user(data: object) -> User:
    """``CurrentUserInfoResponse`` -> the user's limits, plan and billing state."""
    if not isinstance(data, dict):
        raise ParseError("expected a JSON object")
    billing = data.get("billing_account")
    autoscaling = opt_number(data, "max_autoscaling_limit")
    return User(
        plan=opt_string(data, "plan"),
        projects_limit=opt_integer(data, "projects_limit"),
        branches_limit=opt_integer(data, "branches_limit"),
        max_autoscaling_limit_cu=autoscaling if autoscaling else None,
        billing_state=opt_string(billing, "state") if isinstance(billing, dict) else "",
    )


def parse_organization(data: object) -> Organization:
    """``Organization``: its id is required, the rest is read where sent."""
    if not isinstance(data, dict):
        raise ParseError("expected a JSON object")
    item: dict[str, Any] = data
    try:
        org_id = string(item, "id")
    except BadItem:
        raise ParseError("missing 'id'") from None
    return Organization(org_id, opt_string(item, "plan"), opt_boolean(item, "require_mfa"))


ORGANIZATIONS_ROUTE = "/users/me/organizations"


async def organization_ids(client: NeonClient) -> tuple[str, ...]:
    """``GET /users/me/organizations``: the organizations the key's user belongs to (for an
    organization key, its own)."""
    data = await client.get(ORGANIZATIONS_ROUTE, ORGANIZATIONS_ROUTE)
    return client.parse(ORGANIZATIONS_ROUTE, parse_organization_ids, data)


async def key_organizations(client: NeonClient) -> tuple[str, ...]:
    """The organizations account-level areas read: the key's configured ``org_id``, else every
    organization it belongs to."""
    return (client.org_id,) if client.org_id else await organization_ids(client)
