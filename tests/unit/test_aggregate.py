"""--metrics.mode=aggregate: counts and sums that equal the per-project series they replace."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from types import MappingProxyType

from prometheus_client.metrics_core import Metric

from exporter.areas import AREAS
from exporter.neon.models import ApiKey, Endpoint, Project
from exporter.poll.state import AccountPiece, PollResult, State
from tests.support import exposition_of, parsed, sample_in

GIB = 2**30


def endpoint(pid: str, state: str, kind: str = "read_write") -> Endpoint:
    return Endpoint(f"ep-{pid}-{kind}", pid, "br", kind, state, None, 0.25, 2.0, 300.0, None)


def metrics(mode: str) -> list[Metric]:
    projects = {
        "a": Project("a", "a", "eu", "aws", "", 16, 5 * GIB),
        "b": Project("b", "b", "eu", "aws", "", 16, 50 * 2**20),
        "c": Project("c", "c", "us", "aws", "", 17, None),
        "d": Project("d", "d", "us", "aws", "", 17, 2 * 2**40),  # not fetched yet
    }
    endpoints = {
        "a": (endpoint("a", "active"), endpoint("a", "idle", "read_only")),
        "b": (endpoint("b", "idle"),),
        "c": (endpoint("c", "init"),),
    }
    state = State(keys=("prod",), max_age=1e12, clock=lambda: 0.0)
    snap = PollResult("prod", 0.0, MappingProxyType(projects), detail={"endpoints": endpoints})
    state.record_poll("prod", snap, 1.0)
    return parsed(exposition_of(state, ("projects", "endpoints"), aggregate=mode == "aggregate"))


def test_aggregate_counts_and_sums() -> None:
    served = metrics("aggregate")

    def got(name: str, labels: dict[str, str]) -> float | None:
        return sample_in(served, name, labels)

    def projects(region: str, pg: str, state: str) -> float | None:
        labels = {"region_id": region, "pg_version": pg, "state": state}
        return got("neon_aggregate_projects", labels)

    assert projects("eu", "16", "active") == 1
    assert projects("eu", "16", "idle") == 1
    assert projects("us", "17", "init") == 1
    assert projects("us", "17", "unknown") == 1  # no endpoints fetched yet
    eu = {"region_id": "eu", "pg_version": "16"}
    assert got("neon_aggregate_project_size_bytes", eu) == 5 * GIB + 50 * 2**20
    by_size = {
        le: got("neon_aggregate_projects_by_size", {"le": le})
        for le in ("104857600", "1099511627776", "+Inf")
    }
    assert by_size == {"104857600": 1, "1099511627776": 2, "+Inf": 3}  # c has no size
    endpoints = {"endpoint_type": "read_write", "state": "idle"}
    assert got("neon_aggregate_endpoints", endpoints) == 1
    assert got("neon_projects", {"key": "prod"}) == 4
    assert got("neon_project_info", {"project_id": "a"}) is None


def test_projects_mode_has_no_aggregates() -> None:
    names = {f.name for f in metrics("projects")}
    assert "neon_project" in names  # the info family
    assert not any(n.startswith("neon_aggregate_") for n in names)


def account_level_state() -> State:
    """A key with data in every account-level area."""
    gone = Project("gone", "gone", "eu", "aws", "", 16, 1, deleted_at=1.0, recoverable_until=2.0)
    theirs = Project("theirs", "theirs", "eu", "aws", "org-x", 16, 1, permission="CAN_VIEW")
    account = {
        "recoverable": AccountPiece((gone,), 0.0),
        "shared": AccountPiece((theirs,), 0.0),
        "spending_limit": AccountPiece({"org-a": 50_000}, 0.0),
        "api_keys": AccountPiece((ApiKey(1, "ci", "account", 1.0, 2.0, "192.0.2.1"),), 0.0),
    }
    projects = {"a": Project("a", "a", "eu", "aws", "", 16, 5 * GIB)}
    state = State(keys=("prod",), max_age=1e12, clock=lambda: 0.0)
    state.record_poll(
        "prod", PollResult("prod", 0.0, MappingProxyType(projects), account=account), 1.0
    )
    return state


def test_account_level_families_are_served_in_both_modes() -> None:
    """Nothing per project to aggregate: deleted and shared projects, spending limits, the API
    key inventory and the per-key counts are the same in both modes (#18 item 4)."""
    every = tuple(a.name for a in AREAS)
    served = {
        aggregate: {
            f.name for f in parsed(exposition_of(account_level_state(), every, aggregate=aggregate))
        }
        for aggregate in (False, True)
    }
    view_families = {f.name.removesuffix("_info") for a in AREAS for f in a.view_families}
    both = served[False] & view_families
    assert both == served[True] & view_families
    assert len(both) >= 9, both  # the four areas given data above, and neon_projects


def test_docs_list_the_families_served_in_both_modes() -> None:
    """docs/metrics.md's "both modes" list names every family of the whole view, and no other."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    both = text.split("- both modes:", 1)[1].split("\n- ", 1)[0]
    patterns = re.findall(r"`(neon_[a-z_*]+)`", both)
    names = {f.name for a in AREAS for f in a.view_families}
    assert all(any(fnmatch.fnmatch(n, p) for p in patterns) for n in names), names
    assert all(any(fnmatch.fnmatch(n, p) for n in names) for p in patterns), patterns
