"""The account's API key inventory (``--collector.api_keys``, off by default; v2 only), every
``--collector.api_keys.interval`` (1h by default): ``GET /users/me/organizations``, then ``GET /api_keys`` (a personal key: the account's
own keys) and ``GET /organizations/{org_id}/api_keys`` for each organization the key sees (the
ones ``/users/me/organizations`` lists, which for an organization key is its own, and the key's
``org_id`` from the config). 2 + organizations requests per key per interval (1 + 1 for an
organization key).

Per listed key: its id, name, owner, creation and last use times. Never the secret or its
prefix (Neon's list has neither). The address it was last used from is a further opt-in:
``--collector.api_keys_address`` (:mod:`.api_keys_address`), rendered from the same answers.

Sample::

    neon_listed_api_key_info{api_key_id="165432",api_key_name="ci",owner="account",project_id=""} 1.0
    neon_listed_api_key_created_timestamp_seconds{api_key_id="165432"} 1.7e+09
    neon_listed_api_key_last_used_timestamp_seconds{api_key_id="165432"} 1.7e+09
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, cast

from ..exposition.family import Family, Sample, info, one
from ..neon.accounts import organization_ids
from ..neon.client import NeonClient
from ..neon.errors import KeyRejected, NeonError, PartialAnswer
from ..neon.models import ApiKey
from ..neon.parse import parse_api_keys
from .base import Area

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

NAME = "api_keys"
PERSONAL = "account"  # the owner label of the account's personal keys
ROUTE_PERSONAL = "/api_keys"
ROUTE_ORG = "/organizations/{org_id}/api_keys"
ORG_KEY = "api_key_org"  # GET /auth's auth_method of an organization key


async def fetch(client: NeonClient) -> tuple[ApiKey, ...]:
    """Every key the exporter's key can list: its account's and its organizations'."""
    # The key probe's answer, at no extra request; only a refresh before the first probe
    # has answered asks /auth itself.
    auth = client.auth or await client.probe()
    unlisted: NeonError | None = None
    try:
        orgs = set(await organization_ids(client))
    except KeyRejected:
        raise
    except NeonError as exc:  # the other lists are still worth having: served, area failing
        orgs, unlisted = set(), exc
    if client.org_id:
        orgs.add(client.org_id)
    keys: list[ApiKey] = []
    if auth is None or auth.auth_method != ORG_KEY:  # an organization key has no personal list
        data = await client.get(ROUTE_PERSONAL, ROUTE_PERSONAL)
        keys += client.parse(ROUTE_PERSONAL, parse_api_keys(PERSONAL), data)
    for org_id in sorted(orgs):
        keys += await _org_keys(client, org_id)
    if unlisted is not None:
        raise PartialAnswer(unlisted, tuple(keys))
    return tuple(keys)


async def _org_keys(client: NeonClient, org_id: str) -> tuple[ApiKey, ...]:
    """One organization's keys; none where the key may not list them (403/404: a member who
    is not an admin), which is the organization's choice, not a failure of the area."""
    path = f"/organizations/{org_id}/api_keys"
    note = "organization's API keys not listable with this key"
    data = await client.get_unless(ROUTE_ORG, path, absent=(403, 404), note=note)
    return () if data is None else client.parse(ROUTE_ORG, parse_api_keys(org_id), data)


def keys_of(view: View) -> dict[int, ApiKey]:
    """Listed keys over the exporter's keys, each once (ids are unique across Neon)."""
    per_key = cast(Mapping[str, tuple[ApiKey, ...]], view.per_key(NAME))
    return {k.id: k for keys in per_key.values() for k in keys}


def listed(value: Callable[[str, ApiKey], Iterable[Sample]]) -> Callable[[View], Iterable[Sample]]:
    """Samples of every listed key, by id (the id as a label value)."""
    return lambda view: (s for kid, k in sorted(keys_of(view).items()) for s in value(str(kid), k))


VIEW_FAMILIES: tuple[Family[View], ...] = (
    Family(
        "neon_listed_api_key_info",
        "A Neon API key of the account or of an organization (owner: account, or the "
        "organization id), as last listed; always 1. Never the key or its prefix.",
        ("api_key_id", "api_key_name", "owner", "project_id"),
        listed(lambda kid, k: info(kid, k.name, k.owner, k.project_id)),
        kind="info",
    ),
    Family(
        "neon_listed_api_key_created_timestamp_seconds",
        "Unix time the API key was created, as last listed.",
        ("api_key_id",),
        listed(lambda kid, k: one(k.created_at, kid)),
    ),
    Family(
        "neon_listed_api_key_last_used_timestamp_seconds",
        "Unix time the API key was last used, as last listed; absent for a key never used.",
        ("api_key_id",),
        listed(lambda kid, k: one(k.last_used_at, kid)),
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="the account's and its organizations' API keys: age and last use (every --collector.api_keys.interval, hourly by default)",
    cost="2 + organizations requests per key per interval (1 + 1 for an organization key); "
    "none per project",
    view_families=VIEW_FAMILIES,
    fetch_account=fetch,
    on_interval=True,
)
