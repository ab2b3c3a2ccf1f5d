"""VPC endpoints (``--collector.vpc_endpoints``, off by default; v2 only), every 15 minutes: for
each organization of the key (its configured ``org_id``, else ``GET /users/me/organizations``),
``GET /organizations/{org_id}/vpc/vpc_endpoints`` (every region), then each endpoint's ``GET
/organizations/{org_id}/vpc/region/{region_id}/vpc_endpoints/{vpc_endpoint_id}``: its state
(``new``: configured, pending acceptance; ``accepted``: the connection was accepted by Neon)
and the projects restricted to it. Private Networking is a Scale plan feature: where the plan
does not offer it (403), or the key may not read the organization (404), that organization has
no series and the area is still successful.

Sample::

    neon_vpc_endpoint_info{label="prod-vpc",org_id="org-demo-12345",region_id="aws-us-east-2",vpc_endpoint_id="vpce-0a1b2c3d4e5f60001"} 1.0
    neon_vpc_endpoint_state{org_id="org-demo-12345",state="accepted",vpc_endpoint_id="vpce-0a1b2c3d4e5f60001"} 1.0
    neon_vpc_endpoint_restricted_projects{org_id="org-demo-12345",vpc_endpoint_id="vpce-0a1b2c3d4e5f60001"} 4.0
    neon_vpc_endpoint_restricted_project_info{project_id="shiny-wind-028834",vpc_endpoint_id="vpce-0a1b2c3d4e5f60001"} 1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..exposition.family import Family, Sample, info, one
from ..neon.accounts import key_organizations
from ..neon.client import NeonClient
from ..neon.fields import BadItem, ParseError, opt_integer, opt_string, parse_items, string
from .base import Area

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

NAME = "vpc_endpoints"
ROUTE_LIST = "/organizations/{org_id}/vpc/vpc_endpoints"
ROUTE_ONE = "/organizations/{org_id}/vpc/region/{region_id}/vpc_endpoints/{vpc_endpoint_id}"
STATES = ("new", "accepted")  # the document's values of VPCEndpointDetails.state


@dataclass(frozen=True, slots=True)
class VpcEndpoint:
    org_id: str
    id: str
    region_id: str
    label: str
    state: str
    restricted: int | None  # num_restricted_projects
    examples: tuple[str, ...]  # example_restricted_projects: at most 3 of them


def _listed(item: dict[str, Any]) -> tuple[str, str]:
    return string(item, "vpc_endpoint_id"), string(item, "region_id")


def _detail(org_id: str, region_id: str) -> Callable[[object], VpcEndpoint]:
    def parse(data: object) -> VpcEndpoint:
        if not isinstance(data, dict):
            raise ParseError("expected a JSON object")
        try:
            vid, state = string(data, "vpc_endpoint_id"), string(data, "state")
        except BadItem as exc:
            raise ParseError(f"missing {exc}") from None
        examples = data.get("example_restricted_projects")
        return VpcEndpoint(
            org_id,
            vid,
            region_id,
            opt_string(data, "label"),
            state,
            opt_integer(data, "num_restricted_projects"),
            tuple(p for p in examples if isinstance(p, str)) if isinstance(examples, list) else (),
        )

    return parse


async def _org(client: NeonClient, org_id: str) -> list[VpcEndpoint]:
    path = f"/organizations/{org_id}/vpc/vpc_endpoints"
    data = await client.get_unless(
        ROUTE_LIST, path, absent=(403, 404), note="no VPC endpoints readable"
    )
    if data is None:
        return []
    listed = client.parse(ROUTE_LIST, lambda d: parse_items(d, "endpoints", _listed), data)
    out = []
    for vid, region in listed:
        path = f"/organizations/{org_id}/vpc/region/{region}/vpc_endpoints/{vid}"
        detail = await client.get_unless(ROUTE_ONE, path)
        if detail is not None:  # deleted since it was listed
            out.append(client.parse_whole(ROUTE_ONE, _detail(org_id, region), detail))
    return out


async def fetch(client: NeonClient) -> tuple[VpcEndpoint, ...]:
    orgs = await key_organizations(client)
    return tuple([e for org_id in orgs for e in await _org(client, org_id)])


def endpoints_of(view: View) -> list[VpcEndpoint]:
    """Every VPC endpoint over keys, each once, by organization and id."""
    per_key = cast(Mapping[str, tuple[VpcEndpoint, ...]], view.per_key(NAME))
    seen = {(e.org_id, e.id): e for found in per_key.values() for e in found}
    return [seen[k] for k in sorted(seen)]


def _each(value: Callable[[VpcEndpoint], Iterable[Sample]]) -> Callable[[View], Iterable[Sample]]:
    return lambda view: (s for e in endpoints_of(view) for s in value(e))


def state_of(e: VpcEndpoint) -> Iterable[Sample]:
    states = STATES if e.state in STATES else (*STATES, e.state)
    return (((e.org_id, e.id, s), 1.0 if s == e.state else 0.0) for s in states)


VIEW_FAMILIES: tuple[Family[View], ...] = (
    Family(
        "neon_vpc_endpoint_info",
        "A VPC endpoint assigned to the organization, with its region and label, as last "
        "polled; always 1.",
        ("org_id", "region_id", "vpc_endpoint_id", "label"),
        _each(lambda e: info(e.org_id, e.region_id, e.id, e.label)),
        kind="info",
    ),
    Family(
        "neon_vpc_endpoint_state",
        "State of the VPC endpoint as last polled (new: pending acceptance; accepted): 1 for "
        "the current state.",
        ("org_id", "vpc_endpoint_id", "state"),
        _each(state_of),
    ),
    Family(
        "neon_vpc_endpoint_restricted_projects",
        "Projects restricted to this VPC endpoint (num_restricted_projects), as last polled.",
        ("org_id", "vpc_endpoint_id"),
        _each(lambda e: one(e.restricted, e.org_id, e.id)),
    ),
    Family(
        "neon_vpc_endpoint_restricted_project_info",
        "A project restricted to this VPC endpoint; Neon names at most 3 per endpoint "
        "(example_restricted_projects), as last polled; always 1.",
        ("vpc_endpoint_id", "project_id"),
        _each(lambda e: (((e.id, p), 1.0) for p in e.examples)),
        kind="info",
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="each organization's VPC endpoints: state and restricted projects (every --collector.vpc_endpoints.interval, 15m by default)",
    cost="per key every 15 minutes: 1 request per organization plus 1 per VPC endpoint, plus 1 "
    "for the key's organizations when no org_id is configured; none per project",
    view_families=VIEW_FAMILIES,
    fetch_account=fetch,
    on_interval=True,
)
