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

from collections.abc import Callable, Iterable

from ..exposition.family import Family, ProjectData, Sample, flag, info, one
from ..neon.client import NeonClient
from ..neon.models import STATES, Endpoint
from ..neon.parse import parse_v2_endpoints
from .base import Area

NAME = "endpoints"
ROUTE = "/projects/{project_id}/endpoints"


async def fetch(client: NeonClient, project_id: str) -> tuple[Endpoint, ...] | None:
    data = await client.get_unless(ROUTE, f"/projects/{project_id}/endpoints")
    return None if data is None else client.parse(ROUTE, parse_v2_endpoints, data)


def endpoints(d: ProjectData) -> tuple[Endpoint, ...]:
    """The project's endpoints, in the order Neon lists them (none until fetched)."""
    return d.of(NAME) or ()


_LABELS = ("project_id", "endpoint_id")


def _each(
    value: Callable[[str, Endpoint], Iterable[Sample]],
) -> Callable[[ProjectData], Iterable[Sample]]:
    """Samples of every endpoint of the project (``value`` gets the project id and one)."""
    return lambda d: (s for e in endpoints(d) for s in value(d.id, e))


def _gauge(name: str, doc: str, value: Callable[[Endpoint], float | None]) -> Family[ProjectData]:
    return Family(
        f"neon_endpoint_{name}",
        f"{doc}, as last polled.",
        _LABELS,
        _each(lambda pid, e: one(value(e), pid, e.id)),
    )


def _state(pid: str, e: Endpoint) -> Iterable[Sample]:
    return (((pid, e.id, s), 1.0 if s == e.state else 0.0) for s in STATES)


FAMILIES: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_endpoint_info",
        "Neon compute endpoint metadata (polled from the Neon API); always 1.",
        ("project_id", "branch_id", "endpoint_id", "endpoint_type"),
        _each(lambda pid, e: info(pid, e.branch_id, e.id, e.type)),
        kind="info",
    ),
    Family(
        "neon_endpoint_state",
        "Compute endpoint state as last polled: 1 for the current state.",
        (*_LABELS, "state"),
        _each(_state),
    ),
    Family(  # deprecated by Neon: absent once gone
        "neon_endpoint_pooler_enabled",
        "1 if the endpoint's connection pooler is enabled, as last polled.",
        _LABELS,
        _each(lambda pid, e: flag(e.pooler_enabled, pid, e.id)),
    ),
    _gauge(
        "autoscaling_limit_min_cu",
        "Autoscaling minimum in compute units",
        lambda e: e.autoscaling_limit_min_cu,
    ),
    _gauge(
        "autoscaling_limit_max_cu",
        "Autoscaling maximum in compute units",
        lambda e: e.autoscaling_limit_max_cu,
    ),
    _gauge(
        "suspend_timeout_seconds",
        "Idle time before the compute suspends (0 = Neon default)",
        lambda e: e.suspend_timeout_seconds,
    ),
    _gauge(
        "last_active_timestamp_seconds",
        "When the compute was last active (Unix time)",
        lambda e: e.last_active_timestamp,
    ),
)

SUMS: tuple[Family[ProjectData], ...] = (
    Family(
        "neon_aggregate_endpoints",
        "Compute endpoints by type and state, as last polled.",
        ("endpoint_type", "state"),
        _each(lambda _, e: (((e.type, e.state), 1.0),)),
    ),
)


AREA = Area(
    name=NAME,
    default=True,
    help="compute endpoints per project",
    cost="1 request per project per refresh, in the budgeted rotation",
    families=FAMILIES,
    sums=SUMS,
    fetch=fetch,
)
