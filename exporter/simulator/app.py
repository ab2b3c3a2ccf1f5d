"""A simulated Neon management API (v2 and the legacy v1 project list) as an aiohttp application.

Serves ``/api/v2/...`` and ``/api/v1/projects`` with bearer-token auth, read-only, for the demo
mode. Keys can be revoked and restored in-process (the demo's landing page buttons do it); the
tests' simulator (tests/sim) adds faults, a request log and an HTTP control API on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from aiohttp import web

from exporter.simulator import (
    api,
    api_keys,
    billing,
    branch_usage,
    features,
    lists,
    operations,
    organizations,
    snapshots,
)
from exporter.simulator.api import MAX_BRANCH_LIMIT, error_response
from exporter.simulator.api_keys import KeyBook
from exporter.simulator.consumption import v2_consumption
from exporter.simulator.world import World

ROUTE_PROJECTS = "/projects"
ROUTE_PROJECT = "/projects/{project_id}"
ROUTE_ENDPOINTS = "/projects/{project_id}/endpoints"
ROUTE_AUTH = "/auth"
ROUTE_BRANCHES = "/projects/{project_id}/branches"
ROUTE_CONSUMPTION = "/consumption_history/projects"

ApiHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Simulator:
    """The simulated control plane: an in-memory world and the keys that may read it."""

    def __init__(
        self,
        *,
        keys: Mapping[str, str],
        projects: int = 5,
        endpoints_per_project: int = 1,
        seed: int = 0,
        churn_seconds: float = 0.0,
        org_id: str | None = None,
        consumption_history: bool = True,
        branch_page_size: int = MAX_BRANCH_LIMIT,
        omit_pooler_fields: float = 0.0,
        extras: lists.Extras = lists.Extras(),  # noqa: B008 (frozen)
        plan: str | None = None,
        org_keys: Mapping[str, str] | None = None,
    ) -> None:
        """``consumption_history``: whether the account's plan includes the consumption
        history API (False answers it 403, as Neon does below Scale); ``branch_page_size``
        caps branch pages below what the client asks for, to exercise paging;
        ``omit_pooler_fields``: the share of projects whose endpoints answer without the
        deprecated ``pooler_enabled``/``pooler_mode`` (Neon's document still lists them as
        required; they are due to vanish); ``plan``: the account's plan (see ``billing``; by
        default legacy, or free without ``consumption_history``); ``org_keys``: keys that are
        organization keys (name -> organization id), the others are the account's personal
        keys."""
        self.billing = billing.Billing(plan or ("legacy" if consumption_history else "free"))
        self.consumption_history = consumption_history
        self.billing = billing.Billing(plan or ("legacy" if consumption_history else "free"))
        self.branch_page_size = branch_page_size
        self._keys = dict(keys)
        self._tokens = _tokens(keys)
        self._revoked: set[str] = set()
        self.churn_seconds = churn_seconds
        self._churn_rng = random.Random(seed + 1)
        rng = random.Random(seed)
        self.account_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.world = World(seed, owner_id=self.account_id)
        self.world.generate(projects, endpoints_per_project, org_id)
        self.key_book = KeyBook(
            self, keys, account_id=self.account_id, org_id=org_id, org_keys=org_keys
        )
        if omit_pooler_fields > 0:
            self.world.omit_pooler_fields(omit_pooler_fields, random.Random(seed + 2))
        self.lists = lists.Lists(self.world)  # deleted and shared projects; demo extras
        self.lists.populate(extras, random.Random(seed + 3))
        self.operations = operations.SimOperations(self.world, seed)
        self.snapshots = snapshots.SimSnapshots(self.world)
        self.organizations = organizations.Organizations()  # the user, members, VPC endpoints

    def revoke(self, name: str) -> None:
        """From now on key ``name`` gets 401 on every route."""
        if name not in self._keys:
            raise KeyError(name)
        self._revoked.add(name)

    def add_key(self, name: str, token: str) -> None:
        """A new key the simulator accepts (``POST /api_keys``)."""
        if name in self._keys or token in self._tokens:
            raise ValueError(f"key {name!r} or its token exists")
        self._keys[name], self._tokens[token] = token, name

    def usable(self, name: str) -> bool:
        return name in self._keys and name not in self._revoked

    def restore(self, name: str) -> None:
        if name not in self._keys:
            raise KeyError(name)
        self._revoked.discard(name)

    # -- app -------------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        routes = self._routes()
        (live,) = (h for v, path, _, h in routes if (v, path) == ("v2", ROUTE_PROJECTS))
        # First: /projects/shared must not be taken for /projects/{project_id}.
        lists.add_routes(app.router, self, self._api("v2", ROUTE_PROJECTS, live))
        for version, path, route, handler in routes:
            if (version, path) != ("v2", ROUTE_PROJECTS):
                app.router.add_get(f"/api/{version}{path}", self._api(version, route, handler))
        billing.add_routes(app.router, self)
        features.add_routes(app.router, self)
        operations.add_routes(app.router, self._api, self.operations)
        snapshots.add_routes(app.router, self._api, self.snapshots)
        api_keys.add_routes(self, app.router)
        organizations.add_routes(app.router, self)
        branch_usage.add_route(app.router, self)
        if self.churn_seconds > 0:
            app.cleanup_ctx.append(self._churn_ctx)
        return app

    def _routes(self) -> list[tuple[str, str, str, ApiHandler]]:
        """(version, path, route template, handler) of every API route."""
        world = self.world
        return [
            ("v2", ROUTE_PROJECTS, ROUTE_PROJECTS, lambda r, k: api.v2_projects(world, r, k)),
            ("v2", ROUTE_PROJECT, ROUTE_PROJECT, lambda r, k: api.v2_project(world, r, k)),
            ("v2", ROUTE_ENDPOINTS, ROUTE_ENDPOINTS, lambda r, k: api.v2_endpoints(world, r, k)),
            (
                "v2",
                ROUTE_CONSUMPTION,
                ROUTE_CONSUMPTION,
                lambda r, k: v2_consumption(world, r, k, self._legacy_plan(r, k)),
            ),
            ("v2", ROUTE_AUTH, ROUTE_AUTH, self._v2_auth),
            ("v1", ROUTE_PROJECTS, ROUTE_PROJECTS, lambda r, k: api.v1_projects(world, r, k)),
        ]

    async def _churn_ctx(self, app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(self._churn_loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _churn_loop(self) -> None:
        while True:
            await asyncio.sleep(self.churn_seconds)
            self.world.churn(self._churn_rng)

    # -- request plumbing ------------------------------------------------------------------------

    def _authenticate(self, request: web.Request) -> tuple[str | None, bool]:
        """(key name or None when the token is unknown/missing, whether the key is usable)."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, False
        name = self._tokens.get(token.strip())
        if name is None:
            return None, False
        return name, name not in self._revoked

    def api_route(self, version: str, route: str, handler: ApiHandler) -> Handler:
        """``handler`` behind key checks (and the tests' faults and log), for route modules."""
        return self._api(version, route, handler)

    def _api(self, version: str, route: str, handler: ApiHandler) -> Handler:
        """``handler`` behind bearer-token auth. ``version`` and ``route`` (the template without
        the version prefix) name the route for subclasses that wrap this."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            key_name, ok = self._authenticate(request)
            if not ok or key_name is None:
                return error_response(401, "authentication required")
            self.key_book.used(key_name, request.remote)
            return await self._answer(request, route, key_name, handler)

        return wrapped

    async def _answer(
        self, request: web.Request, route: str, key_name: str, handler: ApiHandler
    ) -> web.StreamResponse:
        """The answer to an authenticated request (a subclass may answer otherwise)."""
        return await handler(request, key_name)

    def _legacy_plan(self, request: web.Request, key_name: str) -> bool:
        """Whether the legacy consumption history answers (legacy plans only; 403 else)."""
        plan = self.billing.plan_of(key_name, request.query.get("org_id"))
        return plan == billing.LEGACY

    async def _v2_auth(self, request: web.Request, key_name: str) -> web.StreamResponse:
        return await self.key_book.auth(request, key_name)


def _tokens(keys: Mapping[str, str]) -> dict[str, str]:
    """Token -> key name, refusing empty and shared tokens."""
    tokens: dict[str, str] = {}
    for name, token in keys.items():
        if not token:
            raise ValueError(f"key {name!r} has an empty token")
        if token in tokens:
            raise ValueError("two keys share a token")
        tokens[token] = name
    return tokens
