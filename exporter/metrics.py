"""The exporter's metrics: the snapshot registry of the areas on, and the exporter's own.

Upstream data is only ever rendered from a :class:`View` by the areas' collectors. The counters
here are the exporter's own, direct-instrumented, and change with every request to Neon, so they
form the small ``live`` registry (with key health) rendered apart from the cached snapshot part.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import __version__
from .aggregate import AggregateCollector
from .areas import snapshot_registry
from .collectors.base import ViewSource
from .collectors.health import HealthCollector
from .state import State


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
    areas: tuple[str, ...]  # the areas on (their collectors render the snapshot part)
    mode: str  # --metrics.mode: "projects" or "aggregate"
    api_requests: Counter
    skipped_items: Counter
    cursor_repeats: Counter
    render_errors: Counter
    capped_pauses: Counter
    config_reload: ConfigReloadCollector
    live_changes: int = 0  # bumped with every counter change, so renders of ``live`` can be reused

    def count_request(self, key: str, route: str, code: str) -> None:
        self.api_requests.labels(key=key, route=route, code=code).inc()
        self.live_changes += 1

    def count_skipped(self, key: str, route: str, n: int) -> None:
        self.skipped_items.labels(key=key, route=route).inc(n)
        self.live_changes += 1

    def count_cursor_repeat(self, key: str, route: str) -> None:
        self.cursor_repeats.labels(key=key, route=route).inc()
        self.live_changes += 1

    def count_capped_pause(self, key: str) -> None:
        self.capped_pauses.labels(key=key).inc()
        self.live_changes += 1

    def forget_key(self, key: str) -> None:
        """Remove every counter series of ``key`` (a reload removed it): a removed key leaves
        nothing behind in /metrics, as its health series and data do not."""
        for counter in (
            self.api_requests,
            self.skipped_items,
            self.cursor_repeats,
            self.capped_pauses,
        ):
            children = {
                tuple(s.labels.values())
                for family in counter.collect()
                for s in family.samples
                if s.labels.get("key") == key
            }
            for labels in children:
                counter.remove(*labels)
        self.live_changes += 1

    def record_config_load(self, *, success: bool, at: float) -> None:
        """A configuration was loaded (``success``) or a reload refused, at Unix time ``at``."""
        self.config_reload.successful = success
        if success:
            self.config_reload.last_success = at
        self.live_changes += 1

    def count_render_error(self) -> None:
        self.render_errors.inc()
        self.live_changes += 1


def view_registry(view: ViewSource, *, areas: Sequence[str], mode: str) -> CollectorRegistry:
    """The series rendered from polled data: each area's collector (``projects`` mode), or
    only counts and sums (``aggregate`` mode, see ``aggregate.py``)."""
    if mode == "aggregate":
        registry = CollectorRegistry(auto_describe=False)
        registry.register(AggregateCollector(view))
        return registry
    return snapshot_registry(view, areas=areas)


def build_metrics(state: State, *, areas: Sequence[str], mode: str = "projects") -> Metrics:
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
    repeats = Counter(
        "neon_exporter_api_cursor_repeats",
        "Paged answers whose cursor came back repeated; the pages read before are kept.",
        ["key", "route"],
        registry=live,
    )
    capped = Counter(
        "neon_exporter_api_retry_after_capped",
        "Retry-After answers asking a longer pause than the exporter allows (15 minutes); the "
        "key was paused for that long only.",
        ["key"],
        registry=live,
    )
    render_errors = Counter(
        "neon_exporter_render_errors",
        "Renders of the /metrics snapshot part that failed (each is retried on the next scrape).",
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
    registry = view_registry(state.view, areas=areas, mode=mode)
    live_part = (health, api_requests, skipped, repeats, capped, render_errors, build)
    for collector in (*live_part, config_reload):
        registry.register(collector)
    return Metrics(
        registry=registry,
        live=live,
        areas=tuple(areas),
        mode=mode,
        api_requests=api_requests,
        skipped_items=skipped,
        cursor_repeats=repeats,
        render_errors=render_errors,
        capped_pauses=capped,
        config_reload=config_reload,
    )
