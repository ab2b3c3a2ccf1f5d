"""--projects.include/exclude/org-ids: projects left out are neither fetched nor exported."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from exporter.cli import parse
from exporter.config.errors import ConfigError
from exporter.poll.selection import Selection
from exporter.service import Service
from exporter.simulator.lists import Extras
from tests.procs import sample
from tests.sim import Simulator
from tests.support import KEYS, key_files, make_config, value

ENDPOINTS = "/projects/{project_id}/endpoints"


async def test_only_selected_projects_are_fetched_and_exported(tmp_path: Path) -> None:
    """Of six projects, the include pattern keeps four, the exclude drops one of those, and the
    organization filter one more: two are served, only theirs are fetched, four left out."""
    sim = Simulator(keys=KEYS, projects=0)
    for name, org in [
        ("shop-prod", "org-a"),
        ("shop-staging", "org-a"),
        ("shop-scratch", "org-a"),
        ("shop-eu", "org-b"),
        ("billing", "org-a"),
        ("analytics", "org-a"),
    ]:
        sim.add_project(project_id=f"{name}-0001", name=name, org_id=org, endpoints=1)
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    try:
        config = make_config(
            str(server.make_url("/api/v2")),
            key_files(tmp_path),
            projects_include="shop-.*",
            projects_exclude=".*-scratch",
            projects_org_ids=("org-a",),
        )
        svc = Service(config)
        async with svc.pollers() as pollers:
            assert await pollers.poll("prod")
    finally:
        await server.close()
    assert set(svc.state.view().projects) == {"shop-prod-0001", "shop-staging-0001"}
    assert sim.count(ENDPOINTS) == 2
    assert value(svc, "neon_projects", key="prod") == 2
    assert value(svc, "neon_exporter_projects_left_out", key="prod") == 4
    assert (
        value(svc, "neon_project_info", project_id="billing-0001", project_name="billing") is None
    )


def test_patterns_match_whole_names_or_ids() -> None:
    """As Prometheus' relabelling: anchored at both ends, against the name or the id."""
    from exporter.neon.models import Project

    p = Project("shiny-wind-028834", "shop", "r", "aws", "org-a", 16, None)
    assert Selection.of("shop", None, None).keeps(p)
    assert not Selection.of("sho", None, None).keeps(p)  # not a search
    assert Selection.of("shiny-.*", None, None).keeps(p)  # the id
    assert not Selection.of(None, "shop|other", None).keeps(p)
    assert not Selection.of(None, None, ["org-b"]).keeps(p)
    assert Selection().keeps(p)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--projects.include", "shop-("], "--projects.include"),
        (["--projects.org-ids", " , "], "--projects.org-ids"),
        (["--metrics.mode", "both"], "--metrics.mode"),
    ],
)
def test_bad_selection_names_the_flag(argv: list[str], named: str) -> None:
    with pytest.raises(ConfigError, match=f"^{named}: "):
        parse(["check", *argv], {"NEON_API_KEY": "k" * 20})


async def test_aggregate_mode_serves_counts_not_projects(
    world: tuple[Simulator, str], tmp_path: Path
) -> None:
    """--metrics.mode=aggregate through the /metrics renderer, in each format: the counts and
    sums, key health, and not one per-project series."""
    import gzip

    sim, url = world
    svc = Service(make_config(url, key_files(tmp_path), metrics_mode="aggregate"))
    async with svc.pollers() as pollers:
        assert await pollers.poll("prod")
        plain = (await svc.exposition.body(openmetrics=False, gzipped=False)).decode()
        om = gzip.decompress(await svc.exposition.body(openmetrics=True, gzipped=True)).decode()
    for body in (plain, om):
        assert "neon_aggregate_projects{" in body
        assert 'neon_projects{key="prod"} 4.0' in body
        assert "neon_api_key_valid" in body
        assert "neon_project_info" not in body
        assert "neon_endpoint_info" not in body
    assert om.endswith("# EOF\n")
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in plain.splitlines()
        if line.startswith("neon_aggregate_projects{")
    )
    assert total == len(sim.project_ids())


async def _served(svc: Service) -> str:
    return b"".join(await svc.exposition.chunks(openmetrics=False, gzipped=False)).decode()


async def test_selection_covers_the_deleted_and_shared_lists(tmp_path: Path) -> None:
    """--projects.exclude '.*' leaves out deleted and shared projects too: neither their info
    nor their counts are served (without it, they are)."""
    sim = Simulator(keys=KEYS, projects=2, extras=Extras(deleted=2, shared=2))
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    served: dict[str | None, str] = {}
    try:
        for exclude in (None, ".*"):
            config = make_config(
                str(server.make_url("/api/v2")),
                key_files(tmp_path),
                collectors={"recoverable": True, "shared": True},
                projects_exclude=exclude,
            )
            svc = Service(config)
            async with svc.pollers() as pollers:
                assert await pollers.poll("prod")
            served[exclude] = await _served(svc)
    finally:
        await server.close()
    for name in ("neon_deleted_project_info", "neon_shared_project_info"):
        assert sample(served[None], name) == 1, name
        assert sample(served[".*"], name) is None, name
    assert sample(served[".*"], "neon_shared_projects", {"key": "prod"}) == 0
