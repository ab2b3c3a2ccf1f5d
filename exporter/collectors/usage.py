"""Billing-period usage per project (``--collector.usage``, off by default; v2 only).

From the consumption history API (100 projects per request) where the plan includes it, else
``GET /projects/{project_id}``; refreshed every ``usage_interval`` (15m by default, about how
often Neon updates it). Gauges, not counters: they reset when a billing period starts. A value
Neon does not report is absent, never 0 (consumption history has no data transfer).

Sample::

    neon_project_active_time_seconds{project_id="shiny-wind-028834"} 1.0e+05
    neon_project_compute_time_seconds{project_id="shiny-wind-028834"} 2.5e+04
    neon_project_written_data_bytes{project_id="shiny-wind-028834"} 1.048576e+08
    neon_project_data_transfer_bytes{project_id="shiny-wind-028834"} 5.24288e+07
    neon_project_data_storage_byte_seconds{project_id="shiny-wind-028834"} 3.6e+13
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from ..neon.models import USAGE_FIELDS
from .base import SnapshotCollector, ViewSource

_HELP = {
    "active_time_seconds": "Time the project's computes were active in the billing period",
    "compute_time_seconds": "CPU seconds used by the project's computes in the billing period",
    "written_data_bytes": "Bytes of WAL written for the project in the billing period",
    "data_transfer_bytes": "Bytes of egress from Neon to clients in the billing period",
    "data_storage_byte_seconds": (
        "Storage consumed in the billing period in byte-seconds (Neon's "
        "data_storage_bytes_hour x 3600)"
    ),
}


class UsageCollector(SnapshotCollector):
    def __init__(self, view: ViewSource) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        view = self.view()
        if not view.usage:  # collector off, or nothing fetched yet
            return
        families = {
            name: GaugeMetricFamily(
                f"neon_project_{name}",
                f"{_HELP[name]}, as last polled; resets each period.",
                labels=["project_id"],
            )
            for name in USAGE_FIELDS
        }
        for pid, usage in view.usage.items():
            for name, family in families.items():
                value = getattr(usage, name)
                if value is not None:
                    family.add_metric([pid], value)
        yield from families.values()
