"""The registry: snapshot collectors (one module per metric area) and the exporter's own counters.

Upstream data is only ever rendered from snapshots by collectors; the counters here are the
exporter's own, direct-instrumented.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

from .. import __version__
from ..state import State
from .endpoints import EndpointCollector
from .health import HealthCollector
from .projects import ProjectCollector


@dataclass(frozen=True, slots=True)
class Metrics:
    registry: CollectorRegistry
    api_requests: Counter
    skipped_items: Counter

    def count_request(self, key: str, route: str, code: str) -> None:
        self.api_requests.labels(key=key, route=route, code=code).inc()

    def count_skipped(self, key: str, route: str, n: int) -> None:
        self.skipped_items.labels(key=key, route=route).inc(n)


def build_metrics(state: State, *, endpoints: bool) -> Metrics:
    # *_created series double the counter lines for a value nobody graphs.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HealthCollector(state))
    registry.register(ProjectCollector(state))
    if endpoints:
        registry.register(EndpointCollector(state))
    api_requests = Counter(
        "neon_exporter_api_requests",
        "Requests to the Neon API by route template and status code (or timeout / error).",
        ["key", "route", "code"],
        registry=registry,
    )
    skipped = Counter(
        "neon_exporter_api_skipped_items",
        "Items in Neon's answers skipped because a field the exporter needs was missing or bad.",
        ["key", "route"],
        registry=registry,
    )
    build = Gauge(
        "neon_exporter_build_info",
        "Version of neon-exporter and of the Python running it; always 1.",
        ["version", "python_version"],
        registry=registry,
    )
    build.labels(version=__version__, python_version=platform.python_version()).set(1)
    return Metrics(registry=registry, api_requests=api_requests, skipped_items=skipped)
