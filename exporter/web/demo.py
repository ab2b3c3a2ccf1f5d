"""``--demo``: the simulated Neon API in-process on a loopback port, a key for it, and the
landing page's buttons that revoke and restore that key (routes only the demo has)."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from ..config.load import Config, KeyConfig, KeySource
from ..simulator import Simulator
from ..simulator.lists import Extras
from .app import DEMO, q_values

DEMO_KEY_NAME = "demo"
SIMULATOR = web.AppKey("simulator", Simulator)
DEMO_LEGACY_ORG = "org-demo-legacy-67890"
DEMO_LEGACY_PROJECTS = 6


@asynccontextmanager
async def demo_api(config: Config) -> AsyncIterator[tuple[Config, Simulator]]:
    """Start the simulator and yield the config pointed at it, with the demo key."""
    token = secrets.token_urlsafe(32)
    sim = Simulator(
        keys={DEMO_KEY_NAME: token},
        projects=24,
        endpoints_per_project=2,
        seed=7,
        churn_seconds=20.0,
        org_id="org-demo-12345",
        # As today's Neon may: some endpoints answer without the deprecated pooler fields.
        omit_pooler_fields=0.25,
        # Deleted and shared projects, quotas and maintenance windows, for their areas.
        extras=Extras.demo(),
        # Today's accounts are on usage-based plans: usage from v2 consumption history, and
        # the organization has a spending limit.
        plan="usage",
    )
    # ... but one organization is still on a legacy plan: its usage comes from the legacy
    # route, learnt from v2's 403, and both dashboard rows have data.
    for pid in list(sim.world.sorted_ids)[:DEMO_LEGACY_PROJECTS]:
        sim.world.projects[pid].org_id = DEMO_LEGACY_ORG
    sim.billing.org_plans[DEMO_LEGACY_ORG] = "legacy"
    sim.key_book.seed_inventory()  # other keys of the account, so the API keys row has rows
    # Members, invitations and VPC endpoints of the organization, for their rows and alerts.
    sim.organizations.populate_demo("org-demo-12345", sim.world.sorted_ids[DEMO_LEGACY_PROJECTS:])
    runner = web.AppRunner(sim.make_app(), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        version = "v1" if config.api_version == "v1" else "v2"
        yield (
            dataclasses.replace(
                config,
                api_url=f"http://127.0.0.1:{port}/api/{version}",
                keys=(KeyConfig(name=DEMO_KEY_NAME, source=KeySource(value=token)),),
            ),
            sim,
        )
    finally:
        await runner.cleanup()


def add_routes(app: web.Application, simulator: Simulator) -> None:
    """POST /-/demo/revoke and /-/demo/restore (the landing page's buttons) on ``app``."""
    app[SIMULATOR] = simulator
    app[DEMO] = True
    app.router.add_post("/-/demo/revoke", demo_revoke)
    app.router.add_post("/-/demo/restore", demo_restore)


async def demo_revoke(request: web.Request) -> web.Response:
    request.app[SIMULATOR].revoke(DEMO_KEY_NAME)
    return _back_to_landing(request, "demo key revoked")


async def demo_restore(request: web.Request) -> web.Response:
    request.app[SIMULATOR].restore(DEMO_KEY_NAME)
    return _back_to_landing(request, "demo key restored")


def _back_to_landing(request: web.Request, text: str) -> web.Response:
    # A browser's form post is sent back to the page; curl gets one line (in the 303 too).
    if _from_browser(request):
        raise web.HTTPSeeOther(location="/", text=text + "\n")
    return web.Response(text=text + "\n")


def _from_browser(request: web.Request) -> bool:
    """A form submission or a page navigation, by what browsers send with either."""
    return (
        request.headers.get("Sec-Fetch-Mode") == "navigate"
        or request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
        or q_values(request.headers.get("Accept", "")).get("text/html", 0.0) > 0
    )
