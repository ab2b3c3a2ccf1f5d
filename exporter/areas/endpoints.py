"""Compute endpoints: ``GET /projects/{project_id}/endpoints`` (``--collector.endpoints``, on
by default; v2 only), one request per project, refreshed in the budgeted rotation.

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

from collections.abc import Iterable, Mapping
from typing import cast

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from ..collectors.base import SnapshotCollector, ViewSource
from ..neon.client import NeonClient
from ..neon.models import STATES, Endpoint
from ..neon.parse import parse_v2_endpoints
from ..state import View
from .base import Area

NAME = "endpoints"
ROUTE = "/projects/{project_id}/endpoints"


async def fetch(client: NeonClient, project_id: str) -> tuple[Endpoint, ...] | None:
    data = await client.get_unless_gone(ROUTE, f"/projects/{project_id}/endpoints")
    return None if data is None else client.parse(ROUTE, parse_v2_endpoints, data)


def endpoints_of(view: View) -> Mapping[str, tuple[Endpoint, ...]]:
    return cast(Mapping[str, tuple[Endpoint, ...]], view.of(NAME))


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
        for pid, endpoints in endpoints_of(view).items():
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


AREA = Area(
    name=NAME,
    default=True,
    help="compute endpoints per project",
    cost="1 request per project per refresh, in the budgeted rotation",
    collector=EndpointCollector,
    fetch=fetch,
)
