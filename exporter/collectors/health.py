"""Key health and poll health, per configured key name (never any part of the key).

Small (a few series per key) and changing with every poll, so it is rendered with the live
part of the exposition on each change, not with the cached snapshot part.

Sample::

    neon_api_key_valid{key="prod"} 1.0
    neon_api_key_last_rejected_timestamp_seconds{key="prod"} 1.7e+09
    neon_exporter_poll_success{key="prod"} 1.0
    neon_exporter_poll_last_success_timestamp_seconds{key="prod"} 1.7e+09
    neon_exporter_poll_duration_seconds{key="prod"} 0.42
    neon_exporter_api_budget_requests_per_minute{key="prod"} 300.0
    neon_exporter_detail_oldest_timestamp_seconds{key="prod",kind="endpoints"} 1.7e+09
    neon_exporter_detail_unfetched_projects{key="prod",kind="endpoints"} 0.0
    neon_exporter_collector_success{collector="endpoints",key="prod"} 1.0
    neon_api_key_info{account_id="org-blue-123",auth_method="api_key_org",key="prod"} 1.0
    neon_api_key_file_read_timestamp_seconds{key="prod"} 1.7e+09
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from ..state import KeyHealth
from .base import SnapshotCollector


class HealthCollector(SnapshotCollector):
    def __init__(self, health: Callable[[], Mapping[str, KeyHealth]]) -> None:
        self.health = health

    def collect(self) -> Iterable[Metric]:

        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=["key"])

        valid = gauge(
            "neon_api_key_valid",
            "1 while Neon accepts the key; 0 after Neon answered 401 (invalid or revoked).",
        )
        rejected = gauge(
            "neon_api_key_last_rejected_timestamp_seconds",
            "Unix time Neon last answered 401 for the key.",
        )
        success = gauge("neon_exporter_poll_success", "1 if the last poll of the key completed.")
        last = gauge(
            "neon_exporter_poll_last_success_timestamp_seconds",
            "Unix time the last successful poll of the key finished.",
        )
        duration = gauge(
            "neon_exporter_poll_duration_seconds", "Wall time of the last poll of the key."
        )
        budget = gauge(
            "neon_exporter_api_budget_requests_per_minute",
            "Requests per minute the key may spend on Neon (--neon.max-requests-per-minute); "
            "compare with rate(neon_exporter_api_requests_total[5m]) * 60.",
        )
        oldest = GaugeMetricFamily(
            "neon_exporter_detail_oldest_timestamp_seconds",
            "Unix time the oldest per-project detail of this kind was fetched (detail is "
            "refreshed in rotation within the request budget); time() minus this is its age.",
            labels=["key", "kind"],
        )
        unfetched = GaugeMetricFamily(
            "neon_exporter_detail_unfetched_projects",
            "Projects of the key with no detail of this kind fetched yet (new projects, or "
            "the first polls of a large account).",
            labels=["key", "kind"],
        )
        areas = GaugeMetricFamily(
            "neon_exporter_collector_success",
            "1 while every request of this area (collector) of the key succeeds; 0 while any "
            "is failing: its last good data is kept until poll.max-age. projects is the "
            "project list, whose failure fails the poll.",
            labels=["key", "collector"],
        )
        info = InfoMetricFamily(
            "neon_api_key",
            "What kind of credential the key is (auth_method: api_key_user is a personal key, "
            "api_key_org an organization's) and whose (account_id: the user or organization), "
            "as GET /auth last answered the key probe; always 1. Absent on v1.",
            labels=["key", "auth_method", "account_id"],
        )
        file_read = gauge(
            "neon_api_key_file_read_timestamp_seconds",
            "Unix time the key's key_file was last read (it is re-read when its inode, size or "
            "mtime change): after a rotation, the new key is in use once this is past the "
            "write. Absent for a key from the environment.",
        )
        left_out = gauge(
            "neon_exporter_projects_left_out",
            "Projects in the key's last project list that --projects.include, "
            "--projects.exclude or --projects.org-ids left out: neither fetched nor exported.",
        )
        for key, h in self.health().items():
            if h.left_out is not None:
                left_out.add_metric([key], h.left_out)
            if h.auth is not None:
                info.add_metric([key, h.auth.auth_method, h.auth.account_id], {})
            if h.key_file_read_at is not None:
                file_read.add_metric([key], h.key_file_read_at)
            for area, ok in h.areas.items():
                areas.add_metric([key, area], 1.0 if ok else 0.0)
            if h.budget_per_minute is not None:
                budget.add_metric([key], h.budget_per_minute)
            for kind, (at, missing) in h.details.items():
                if at is not None:
                    oldest.add_metric([key, kind], at)
                unfetched.add_metric([key, kind], missing)
            if h.valid is not None:
                valid.add_metric([key], 1.0 if h.valid else 0.0)
            if h.last_rejected is not None:
                rejected.add_metric([key], h.last_rejected)
            if h.poll_success is not None:
                success.add_metric([key], 1.0 if h.poll_success else 0.0)
            if h.last_success is not None:
                last.add_metric([key], h.last_success)
            if h.poll_duration is not None:
                duration.add_metric([key], h.poll_duration)
        yield from (valid, rejected, success, last, duration, budget, oldest, unfetched, areas)
        yield from (info, file_read, left_out)
