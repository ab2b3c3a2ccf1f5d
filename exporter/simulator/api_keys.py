"""The simulator's API keys: ``/auth``, the personal and organization key lists, organizations,
and creating and revoking keys, as Neon's v2 document describes them.

Every key the simulator accepts is one of these records: those it was started with (personal,
or an organization's), those created through ``POST /api_keys``, and, for the demo, an
inventory of other keys. ``last_used_at`` and ``last_used_from_addr`` move with every
request a key makes; a revoked key (``DELETE /api_keys/{key_id}``, or ``/_sim/keys/NAME/
revoke``) is not listed, as Neon lists only live keys.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .model import rfc3339, utcnow

if TYPE_CHECKING:
    from .app import Simulator

ROUTE_API_KEYS = "/api_keys"
ROUTE_API_KEY = "/api_keys/{key_id}"
ROUTE_ORG_API_KEYS = "/organizations/{org_id}/api_keys"
ROUTE_MY_ORGS = "/users/me/organizations"
FIRST_KEY_ID = 165432  # as in the document's examples
CREATOR_NAME = "Simulated User"


@dataclass(slots=True)
class SimApiKey:
    id: int
    name: str  # the simulator's name for the key (faults, the request log, /_sim/keys)
    owner: str | None  # None: the account's personal key; else the organization id
    created_at: datetime
    last_used_at: datetime | None = None
    last_used_from_addr: str = ""

    def listed(self) -> dict[str, Any]:
        """ApiKeysListResponseItem (OrgApiKeysListResponseItem adds nothing required)."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": rfc3339(self.created_at),
            "created_by": {"id": CREATOR_ID, "name": CREATOR_NAME, "image": ""},
            "last_used_at": None if self.last_used_at is None else rfc3339(self.last_used_at),
            "last_used_from_addr": self.last_used_from_addr,
        }


CREATOR_ID = "629982cc-de05-43db-ae16-28f2399c4910"


class KeyBook:
    """The keys of the simulated account and its organizations."""

    def __init__(
        self,
        sim: Simulator,
        names: Mapping[str, str],
        *,
        account_id: str,
        org_id: str | None,
        org_keys: Mapping[str, str] | None = None,
    ) -> None:
        """``names``: the simulator's keys (name -> token); ``org_keys``: those of them that
        are organization keys (name -> organization id); ``org_id``: the organization the
        account belongs to (the simulator's world's), if any."""
        self.sim = sim
        self.account_id = account_id
        org_keys = dict(org_keys or {})
        self.orgs: list[str] = sorted({*([org_id] if org_id else []), *org_keys.values()})
        self.keys: dict[str, SimApiKey] = {}
        self._next_id = FIRST_KEY_ID
        now = utcnow()
        for name in names:
            self._add(name, org_keys.get(name), now)

    def _add(self, name: str, owner: str | None, created_at: datetime) -> SimApiKey:
        key = SimApiKey(self._next_id, name, owner, created_at)
        self._next_id += 1
        self.keys[name] = key
        return key

    def used(self, name: str, addr: str | None) -> None:
        """A request authenticated with key ``name`` arrived from ``addr``."""
        key = self.keys.get(name)
        if key is not None:
            key.last_used_at, key.last_used_from_addr = utcnow(), addr or ""

    def create(self, name: str, owner: str | None = None) -> tuple[SimApiKey, str]:
        """A new key and its token (only ever returned here, as Neon returns it once)."""
        token = secrets.token_urlsafe(48)
        unique = name if name not in self.keys else f"{name}-{self._next_id}"
        self.sim.add_key(unique, token)
        return self._add(unique, owner, utcnow()), token

    def seed_inventory(self) -> None:
        """Other keys of the account, for the demo: one in daily use, one unused for four
        months, one over a year old, and an organization's key (the first organization)."""
        now = utcnow()
        day = timedelta(days=1)
        personal = [("ci-deploy", 200 * day, 0.1 * day), ("old-laptop", 400 * day, 130 * day)]
        for name, age, idle in personal:
            self._inventory(name, None, now - age, now - idle)
        if self.orgs:
            self._inventory("terraform", self.orgs[0], now - 30 * day, now - 2 * day)

    def _inventory(self, name: str, owner: str | None, created: datetime, used: datetime) -> None:
        key, _ = self.create(name, owner)
        key.created_at, key.last_used_at = created, used
        key.last_used_from_addr = "192.0.2.10"

    def live(self, owner: str | None) -> list[SimApiKey]:
        return [k for k in self.keys.values() if k.owner == owner and self.sim.usable(k.name)]

    # -- handlers (key_name is the authenticated caller) ----------------------------------------

    async def auth(self, request: web.Request, key_name: str) -> web.StreamResponse:
        owner = self.keys[key_name].owner
        if owner is None:
            return web.json_response({"account_id": self.account_id, "auth_method": "api_key_user"})
        return web.json_response({"account_id": owner, "auth_method": "api_key_org"})

    async def my_orgs(self, request: web.Request, key_name: str) -> web.StreamResponse:
        # An organization key sees the one organization that owns it, as the document says.
        owner = self.keys[key_name].owner
        ids = self.orgs if owner is None else [owner]
        return web.json_response({"organizations": [_organization(o) for o in ids]})

    async def personal(self, request: web.Request, key_name: str) -> web.StreamResponse:
        if self.keys[key_name].owner is not None:
            return _error(403, "organization API keys cannot list personal API keys")
        return web.json_response([k.listed() for k in self.live(None)])

    async def of_org(self, request: web.Request, key_name: str) -> web.StreamResponse:
        org_id = request.match_info["org_id"]
        owner = self.keys[key_name].owner
        if org_id not in self.orgs or (owner is not None and owner != org_id):
            return _error(404, f"organization {org_id} not found")
        return web.json_response([k.listed() for k in self.live(org_id)])

    async def create_key(self, request: web.Request, key_name: str) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body is not JSON")
        name = body.get("key_name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return _error(400, "key_name is required")
        key, token = self.create(name, self.keys[key_name].owner)
        return web.json_response(
            {
                "id": key.id,
                "key": token,
                "name": key.name,
                "created_at": rfc3339(key.created_at),
                "created_by": CREATOR_ID,
            }
        )

    async def revoke_key(self, request: web.Request, key_name: str) -> web.StreamResponse:
        raw = request.match_info["key_id"]
        owner = self.keys[key_name].owner
        key = next((k for k in self.keys.values() if str(k.id) == raw), None)
        if key is None or key.owner != owner or not self.sim.usable(key.name):
            return _error(404, "API key not found")
        self.sim.revoke(key.name)
        return web.json_response(
            {**key.listed(), "created_by": CREATOR_ID, "revoked": True}, status=200
        )


def _organization(org_id: str) -> dict[str, Any]:
    at = rfc3339(utcnow() - timedelta(days=90))
    return {
        "id": org_id,
        "name": org_id,
        "handle": org_id,
        "plan": "scale",
        "created_at": at,
        "updated_at": at,
        "managed_by": "console",
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"code": "", "message": message}, status=status)


def add_routes(sim: Simulator, router: web.UrlDispatcher) -> None:
    book = sim.key_book
    router.add_get("/api/v2/api_keys", sim.api_route("v2", ROUTE_API_KEYS, book.personal))
    router.add_post("/api/v2/api_keys", sim.api_route("v2", ROUTE_API_KEYS, book.create_key))
    router.add_delete(
        "/api/v2/api_keys/{key_id}", sim.api_route("v2", ROUTE_API_KEY, book.revoke_key)
    )
    router.add_get(
        "/api/v2/organizations/{org_id}/api_keys",
        sim.api_route("v2", ROUTE_ORG_API_KEYS, book.of_org),
    )
    router.add_get(
        "/api/v2/users/me/organizations", sim.api_route("v2", ROUTE_MY_ORGS, book.my_orgs)
    )
