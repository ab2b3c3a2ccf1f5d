"""Registries: snapshot collectors (one module per metric area) and the exporter's own counters.

Upstream data is only ever rendered from a :class:`View` by collectors. The counters here are the
exporter's own, direct-instrumented, and change with every request to Neon, so they form the
small ``live`` registry (with key health) rendered apart from the cached snapshot part.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import __version__
from ..state import State, View
from .base import ViewSource
from .branches import BranchCollector
from .endpoints import EndpointCollector
from .health import HealthCollector
from .projects import ProjectCollector
from .usage import UsageCollector


def snapshot_registry(view: ViewSource, *, endpoints: bool) -> CollectorRegistry:
    """Every series derived from polled data, rendered from ``view()``.

    Branches and usage render only what the view holds, and the poller fetches them only when
    their collector is on, so they need no switch here.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProjectCollector(view))
    if endpoints:
        registry.register(EndpointCollector(view))
    registry.register(BranchCollector(view))
    registry.register(UsageCollector(view))
    return registry


def frozen_registry(view: View, *, endpoints: bool) -> CollectorRegistry:
    """The snapshot series of one fixed view: safe to render on another thread."""
    return snapshot_registry(lambda: view, endpoints=endpoints)


class ConfigReloadCollector(Collector):
    """Prometheus' own convention (``prometheus_config_last_reload_successful``): whether the
    last configuration load (start or reload) succeeded, and when one last did. Nothing is
    exported until a configuration has been loaded."""

    def __init__(self) -> None:
        self.successful: bool | None = None
        self.last_success: float | None = None

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterable[Metric]:
        if self.successful is None:
            return
        yield GaugeMetricFamily(
            "neon_exporter_config_last_reload_successful",
            "1 if the last configuration load (start or reload) succeeded, 0 if a reload was "
            "refused and the previous configuration is still running.",
            value=1.0 if self.successful else 0.0,
        )
        if self.last_success is not None:
            yield GaugeMetricFamily(
                "neon_exporter_config_last_reload_success_timestamp_seconds",
                "Unix time of the last successful configuration load (start or reload).",
                value=self.last_success,
            )


@dataclass(slots=True)
class Metrics:
    registry: CollectorRegistry  # everything, rendered from the live state (once, tests)
    live: CollectorRegistry  # key health, the exporter's own counters and build info
    endpoints: bool
    api_requests: Counter
    skipped_items: Counter
    config_reload: ConfigReloadCollector
    live_changes: int = 0  # bumped with every counter change, so renders of ``live`` can be reused

    def count_request(self, key: str, route: str, code: str) -> None:
        self.api_requests.labels(key=key, route=route, code=code).inc()
        self.live_changes += 1

    def count_skipped(self, key: str, route: str, n: int) -> None:
        self.skipped_items.labels(key=key, route=route).inc(n)
        self.live_changes += 1

    def record_config_load(self, *, success: bool, at: float) -> None:
        """A configuration was loaded (``success``) or a reload refused, at Unix time ``at``."""
        self.config_reload.successful = success
        if success:
            self.config_reload.last_success = at
        self.live_changes += 1


def build_metrics(state: State, *, endpoints: bool) -> Metrics:
    # *_created series double the counter lines for a value nobody graphs.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    live = CollectorRegistry(auto_describe=False)
    health = HealthCollector(state.all_health)
    live.register(health)
    api_requests = Counter(
        "neon_exporter_api_requests",
        "Requests to the Neon API by route template and status code (or timeout / error).",
        ["key", "route", "code"],
        registry=live,
    )
    skipped = Counter(
        "neon_exporter_api_skipped_items",
        "Items in Neon's answers skipped because a field the exporter needs was missing or bad.",
        ["key", "route"],
        registry=live,
    )
    build = Gauge(
        "neon_exporter_build_info",
        "Version of neon-exporter and of the Python running it; always 1.",
        ["version", "python_version"],
        registry=live,
    )
    build.labels(version=__version__, python_version=platform.python_version()).set(1)
    config_reload = ConfigReloadCollector()
    live.register(config_reload)
    registry = snapshot_registry(state.view, endpoints=endpoints)
    for collector in (health, api_requests, skipped, build, config_reload):
        registry.register(collector)
    return Metrics(
        registry=registry,
        live=live,
        endpoints=endpoints,
        api_requests=api_requests,
        skipped_items=skipped,
        config_reload=config_reload,
    )
