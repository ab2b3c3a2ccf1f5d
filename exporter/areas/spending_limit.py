"""Spending limit: each organization's monthly spending limit, ``GET
/organizations/{org_id}/billing/spending_limit`` (``--collector.spending_limit``, off by
default; v2 only), refreshed every ``--collector.spending_limit.interval`` (1h by default).

The organizations are the key's configured ``org_id``, else ``GET /users/me/organizations``
(every organization of a personal key's user; for an organization key, the organization that
owns it): one request, then one per organization. The limit is offered on Launch and Scale
plans only: elsewhere Neon answers 403 and that organization has no series. An organization
with no limit set (``null``) has no series either. Dollars, not cents: Prometheus base units;
Neon bills in US dollars. Neon does not stop computes at the limit (it sends e-mails at 80% and
100%); ``deploy/prometheus/neon-exporter-spend.yml`` estimates spend from the usage gauges and
alerts at a share of this limit.

Sample::

    neon_organization_spending_limit_dollars{org_id="org-demo-12345"} 500.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from ..exposition.family import Family
from ..neon.accounts import key_organizations
from ..neon.client import NeonClient
from ..neon.fields import ParseError
from .base import Area

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

NAME = "spending_limit"
ROUTE = "/organizations/{org_id}/billing/spending_limit"


def parse_spending_limit(data: object) -> int | None:
    """``SpendingLimitResponse`` -> cents, or None when no limit is set."""
    if not isinstance(data, dict) or "spending_limit_cents" not in data:
        raise ParseError("missing 'spending_limit_cents'")
    cents = data["spending_limit_cents"]
    if cents is None:
        return None
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise ParseError("'spending_limit_cents' is not an integer")
    return cents


async def fetch(client: NeonClient) -> dict[str, int | None]:
    """Organization id -> its limit in cents (None: no limit set), for every organization of
    the key whose plan offers spending limits."""
    out: dict[str, int | None] = {}
    for org_id in await key_organizations(client):
        path = f"/organizations/{org_id}/billing/spending_limit"
        # 403: not a Launch or Scale plan: no limit to show, and the key is fine.
        data = await client.get_unless(ROUTE, path, absent=(403,))
        if data is None:
            continue
        out[org_id] = client.parse_whole(ROUTE, parse_spending_limit, data)
    return out


def limits_of(view: View) -> dict[str, int]:
    """Organization -> limit in cents over keys, each once; organizations without a limit out."""
    per_key = cast(Mapping[str, Mapping[str, int | None]], view.per_key(NAME))
    return {
        org: cents
        for limits in per_key.values()
        for org, cents in limits.items()
        if cents is not None
    }


VIEW_FAMILIES: tuple[Family[View], ...] = (
    Family(
        "neon_organization_spending_limit_dollars",
        "The organization's monthly spending limit in US dollars (Neon's "
        "spending_limit_cents / 100), as last polled; absent when none is set.",
        ("org_id",),
        lambda view: (((org,), cents / 100) for org, cents in sorted(limits_of(view).items())),
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="each organization's monthly spending limit (every --collector.spending_limit.interval, hourly by default)",
    cost="1 request per organization per key per interval, plus 1 for the key's organizations "
    "when no org_id is configured (2 for most accounts; independent of projects)",
    view_families=VIEW_FAMILIES,
    fetch_account=fetch,
    on_interval=True,
)
