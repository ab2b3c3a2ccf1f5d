"""Fields Neon deprecated: answers without them keep every other series, and theirs go absent.

``Endpoint.pooler_enabled`` and ``pooler_mode`` are deprecated (``pooler_mode`` sunset
2026-06-20): pooling is reached through the ``-pooler`` host name, so the fields may vanish.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp.test_utils import TestServer

from exporter.service import Service
from tests.sim import Simulator
from tests.support import KEYS, families, value

Build = Callable[..., Service]
BARE = "bare-pooler-000001"  # its endpoints answer without the deprecated fields
OLD = "old-pooler-000002"  # its endpoints still carry them


async def test_endpoints_without_pooler_fields_keep_their_series(service_for: Build) -> None:
    """Three endpoints without the fields: three endpoint series, the project's state, and
    no pooler series (absent, not 0); a project whose endpoints report them keeps its own."""
    sim = Simulator(keys=KEYS, projects=0)
    sim.add_project(project_id=BARE, endpoints=3, pooler_fields=False)
    sim.add_project(project_id=OLD, endpoints=1)
    bare_eps = [e.id for e in sim.endpoints_of(BARE)]
    sim.set_endpoint(bare_eps[1], state="active")
    sim.set_endpoint(sim.endpoints_of(OLD)[0].id, pooler_enabled=True)
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    try:
        svc = service_for(str(server.make_url("/api/v2")))
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
    finally:
        await server.close()
    assert sim.count("/projects/{project_id}/endpoints", status=200) == 2

    samples = [s for family in families(svc) for s in family.samples]

    def series(name: str, project_id: str) -> list[dict[str, str]]:
        return [
            s.labels for s in samples if s.name == name and s.labels["project_id"] == project_id
        ]

    assert sorted(labels["endpoint_id"] for labels in series("neon_endpoint_info", BARE)) == sorted(
        bare_eps
    )
    assert len(series("neon_endpoint_state", BARE)) == 3 * 3  # one per endpoint and state
    state = value(svc, "neon_project_state", project_id=BARE, state="active")
    assert state == 1
    assert series("neon_endpoint_pooler_enabled", BARE) == []
    assert series("neon_project_pooler_enabled", BARE) == []
    assert value(svc, "neon_project_pooler_enabled", project_id=OLD) == 1
    assert len(series("neon_endpoint_pooler_enabled", OLD)) == 1
