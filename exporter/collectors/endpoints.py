"""Per-compute-endpoint series (``--collector.endpoints``, on by default; v2 only).

Sample::

    neon_endpoint_info{branch_id="br-aged-salad-637688",endpoint_id="ep-little-smoke-851426",endpoint_type="read_write",project_id="shiny-wind-028834"} 1.0
    neon_endpoint_state{endpoint_id="ep-little-smoke-851426",project_id="shiny-wind-028834",state="idle"} 1.0
    neon_endpoint_pooler_enabled{endpoint_id="ep-little-smoke-851426",project_id="shiny-wind-028834"} 0.0
    neon_endpoint_autoscaling_limit_min_cu{endpoint_id="ep-little-smoke-851426",project_id="shiny-wind-028834"} 0.25
    neon_endpoint_autoscaling_limit_max_cu{endpoint_id="ep-little-smoke-851426",project_id="shiny-wind-028834"} 2.0
    neon_endpoint_suspend_timeout_seconds{endpoint_id="ep-little-smoke-851426",project_id="shiny-wind-028834"} 300.0
    neon_endpoint_last_active_timestamp_seconds{endpoint_id="ep-little-smoke-851426",project_id="shiny-wind-028834"} 1.6692228e+09
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from ..neon.models import STATES
from .base import SnapshotCollector, ViewSource

_LABELS = ["project_id", "endpoint_id"]


class EndpointCollector(SnapshotCollector):
    def __init__(self, view: ViewSource) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        view = self.view()
        info = InfoMetricFamily(
            "neon_endpoint",
            "Neon compute endpoint metadata (polled from the Neon API); always 1.",
            labels=["project_id", "branch_id", "endpoint_id", "endpoint_type"],
        )
        state = GaugeMetricFamily(
            "neon_endpoint_state",
            "Compute endpoint state as last polled: 1 for the current state.",
            labels=[*_LABELS, "state"],
        )

        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(
                f"neon_endpoint_{name}", f"{doc}, as last polled.", labels=_LABELS
            )

        pooler = gauge("pooler_enabled", "1 if the endpoint's connection pooler is enabled")
        min_cu = gauge("autoscaling_limit_min_cu", "Autoscaling minimum in compute units")
        max_cu = gauge("autoscaling_limit_max_cu", "Autoscaling maximum in compute units")
        suspend = gauge(
            "suspend_timeout_seconds", "Idle time before the compute suspends (0 = Neon default)"
        )
        last_active = gauge(
            "last_active_timestamp_seconds", "When the compute was last active (Unix time)"
        )
        for pid, endpoints in view.endpoints.items():
            for e in endpoints:
                labels = [pid, e.id]
                info.add_metric([pid, e.branch_id, e.id, e.type], {})
                for s in STATES:
                    state.add_metric([*labels, s], 1.0 if s == e.state else 0.0)
                if e.pooler_enabled is not None:  # deprecated by Neon: absent once gone
                    pooler.add_metric(labels, 1.0 if e.pooler_enabled else 0.0)
                min_cu.add_metric(labels, e.autoscaling_limit_min_cu)
                max_cu.add_metric(labels, e.autoscaling_limit_max_cu)
                if e.suspend_timeout_seconds is not None:
                    suspend.add_metric(labels, e.suspend_timeout_seconds)
                if e.last_active_timestamp is not None:
                    last_active.add_metric(labels, e.last_active_timestamp)
        yield from (info, state, pooler, min_cu, max_cu, suspend, last_active)
