"""--metrics.mode=aggregate: counts and sums that equal the per-project series they replace."""

from __future__ import annotations

from types import MappingProxyType

from prometheus_client.metrics_core import Metric

from exporter.neon.models import Endpoint, Project
from exporter.state import KeySnapshot, State
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
    snap = KeySnapshot("prod", 0.0, MappingProxyType(projects), detail={"endpoints": endpoints})
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
