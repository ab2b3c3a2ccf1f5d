"""``--demo``: the simulated Neon API in-process on a loopback port, and a key for it."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from .config import Config, KeyConfig, KeySource
from .simulator import Simulator

DEMO_KEY_NAME = "demo"
# The demo runs for as long as the user likes: its simulator keeps only recent requests.
DEMO_REQUEST_LOG = 1000


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
        request_log=DEMO_REQUEST_LOG,
        # As today's Neon may: some endpoints answer without the deprecated pooler fields.
        omit_pooler_fields=0.25,
    )
    sim.key_book.seed_inventory()  # other keys of the account, so the API keys row has rows
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
