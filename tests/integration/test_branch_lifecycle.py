"""Branch expiry (from the branch list) and deleted branches (``include_deleted=true``, the
deleted_branches area) over real sockets against the simulator, and that area failing apart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exporter.service import Service
from exporter.simulator.lists import Extras
from tests.sim import Fault, Simulator
from tests.support import KEYS, Clock, key_files, make_config, quick_retries, served, value

DELETED = "/projects/{project_id}/branches?include_deleted=true"
ON = {"branches": True, "deleted_branches": True}
UNTIL = "neon_deleted_branch_recoverable_until_timestamp_seconds"


@pytest.fixture
async def world() -> AsyncIterator[tuple[Simulator, str]]:
    # The first three projects: expiring branches (the first's default one too), one branch
    # deleted by its expiry and one by a user each (see exporter/simulator/features).
    sim = Simulator(
        keys=KEYS, projects=3, endpoints_per_project=1, seed=5, extras=Extras(features=True)
    )
    async with served(sim) as url:
        yield sim, url


def success(svc: Service, collector: str) -> float | None:
    return value(svc, "neon_exporter_collector_success", key="prod", collector=collector)


async def test_expiry_and_deleted_branches(world: tuple[Simulator, str], tmp_path: Path) -> None:
    """Expiry and TTL per expiring branch; deleted branches only in their own series, with
    how they went and until when they can be recovered."""
    sim, url = world
    first = sim.world.projects[sim.project_ids()[0]]
    svc = Service(make_config(url, key_files(tmp_path), collectors=ON), clock=Clock())
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    default = next(b for b in first.branches if b.default)
    assert default.expires_at is not None
    labels = {"project_id": first.id, "branch_id": default.id}
    assert value(svc, "neon_branch_expires_timestamp_seconds", **labels) == (
        default.expires_at.timestamp()
    )
    assert value(svc, "neon_branch_ttl_interval_seconds", **labels) == 30 * 86400
    second = sim.world.projects[sim.project_ids()[1]]
    never = next(b for b in second.branches if b.default)
    assert never.expires_at is None
    labels = {"project_id": second.id, "branch_id": never.id}
    assert value(svc, "neon_branch_expires_timestamp_seconds", **labels) is None
    assert value(svc, "neon_branch_ttl_interval_seconds", **labels) is None
    for b in first.deleted_branches:
        assert b.recovery is not None
        labels = {"project_id": first.id, "branch_id": b.id}
        info = {**labels, "branch_name": b.name, "deletion_method": b.recovery["deletion_method"]}
        assert value(svc, "neon_deleted_branch_info", **info) == 1
        deleted = value(svc, "neon_deleted_branch_deleted_timestamp_seconds", **labels)
        assert deleted is not None
        assert value(svc, UNTIL, **labels) == deleted + 7 * 86400
        # Never among the live branches.
        assert value(svc, "neon_branch_logical_size_bytes", **labels) is None
        live = {**labels, "branch_name": b.name, "default": "false", "protected": "false"}
        assert value(svc, "neon_branch_info", **live, state="ready") is None
    assert success(svc, "deleted_branches") == 1
    assert sim.count(DELETED) == 3
    assert sim.count("/projects/{project_id}/branches") == 3  # the live list, once each


@pytest.mark.parametrize("fault", ["no recovery preview", 403, 404, 500])
async def test_deleted_branches_fail_apart(
    world: tuple[Simulator, str], tmp_path: Path, fault: str | int
) -> None:
    """Without branch recovery (403, the preview not on the account) a project has no deleted
    branches and the area succeeds; a 404 or a 500 fails the area, which keeps its last data;
    the projects and the live branch list are served either way."""
    sim, url = world
    pid = sim.project_ids()[0]
    gone = sim.world.projects[pid].deleted_branches[0].id
    clock = Clock()
    config = make_config(url, key_files(tmp_path), collectors=ON, poll_max_age=7200.0)
    svc = Service(config, clock=clock)
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        before = value(svc, UNTIL, project_id=pid, branch_id=gone)
        assert before is not None
        if fault == "no recovery preview":
            sim.world.branch_recovery = False
        else:
            sim.inject(Fault(status=int(fault), route=DELETED, times=None))
        clock.now += 3601
        assert await poller.poll("prod")
    assert len(svc.state.view().projects) == 3
    assert success(svc, "branches") == 1
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    if fault in ("no recovery preview", 403):
        assert success(svc, "deleted_branches") == 1
        assert value(svc, UNTIL, project_id=pid, branch_id=gone) is None
    else:
        assert success(svc, "deleted_branches") == 0
        assert value(svc, UNTIL, project_id=pid, branch_id=gone) == before
