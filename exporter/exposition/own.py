"""The exporter's own metrics: its counters, build info and config reloads (key health is
declared in ``health.py``).

Polled data is declared by the areas and rendered by the store (``store.py``). These are the
exporter's own, direct-instrumented on prometheus_client, and change with every request to Neon,
so they form the small ``live`` registry rendered apart from the cached polled part.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import __version__


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
    live: CollectorRegistry  # the exporter's own counters, build info and config loads
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


def build_metrics() -> Metrics:
    # *_created series double the counter lines for a value nobody graphs.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    live = CollectorRegistry(auto_describe=False)

    def counter(name: str, doc: str, *labels: str) -> Counter:
        return Counter(name, doc, labels, registry=live)

    metrics = Metrics(
        live=live,
        api_requests=counter(
            "neon_exporter_api_requests",
            "Requests to the Neon API by route template and status code (or timeout / error).",
            *("key", "route", "code"),
        ),
        skipped_items=counter(
            "neon_exporter_api_skipped_items",
            "Items in Neon's answers skipped because a field the exporter needs was missing or "
            "bad.",
            *("key", "route"),
        ),
        cursor_repeats=counter(
            "neon_exporter_api_cursor_repeats",
            "Paged answers whose cursor came back repeated; the pages read before are kept.",
            *("key", "route"),
        ),
        capped_pauses=counter(
            "neon_exporter_api_retry_after_capped",
            "Retry-After answers asking a longer pause than the exporter allows (15 minutes); "
            "the key was paused for that long only.",
            "key",
        ),
        render_errors=counter(
            "neon_exporter_render_errors",
            "Renders of the /metrics snapshot part that failed (each is retried on the next "
            "scrape).",
        ),
        config_reload=ConfigReloadCollector(),
    )
    build = Gauge(
        "neon_exporter_build_info",
        "Version of neon-exporter and of the Python running it; always 1.",
        ["version", "python_version"],
        registry=live,
    )
    build.labels(version=__version__, python_version=platform.python_version()).set(1)
    live.register(metrics.config_reload)
    return metrics
