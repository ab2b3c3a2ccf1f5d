"""``--metrics.mode=aggregate``: counts and sums instead of series per project.

For fleets of tens of thousands of projects, where one target with millions of series is more
than most Prometheus servers want. The series count no longer grows with the number of
projects: it is bounded by regions x Postgres versions x states (and endpoint states x types).

Sample::

    neon_aggregate_projects{pg_version="16",region_id="aws-us-east-2",state="idle"} 812.0
    neon_aggregate_project_size_bytes{pg_version="16",region_id="aws-us-east-2"} 4.2e+11
    neon_aggregate_projects_by_size{le="1073741824"} 640.0
    neon_aggregate_endpoints{endpoint_type="read_write",state="active"} 57.0
    neon_projects{key="prod"} 1000.0
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric

from .areas.endpoints import endpoints_of
from .areas.projects import projects_per_key
from .collectors.base import SnapshotCollector, ViewSource
from .neon.models import derive_state

# Size buckets (bytes): 10 MiB, 100 MiB, 1 GiB, 10 GiB, 100 GiB, 1 TiB.
SIZE_BUCKETS = (10 * 2**20, 100 * 2**20, 2**30, 10 * 2**30, 100 * 2**30, 2**40)


class AggregateCollector(SnapshotCollector):
    def __init__(self, view: ViewSource) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        view = self.view()
        endpoints = endpoints_of(view)
        projects: Counter[tuple[str, ...]] = Counter()
        sizes: Counter[tuple[str, ...]] = Counter()
        buckets = [0] * (len(SIZE_BUCKETS) + 1)
        for pid, p in view.projects.items():
            eps = endpoints.get(pid)
            state = derive_state(eps) if eps is not None else (p.state or "unknown")
            projects[(p.region_id, str(p.pg_version), state)] += 1
            if p.size_bytes is not None:
                sizes[(p.region_id, str(p.pg_version))] += p.size_bytes
                buckets[bisect.bisect_left(SIZE_BUCKETS, p.size_bytes)] += 1
        by_state: Counter[tuple[str, ...]] = Counter(
            (e.type, e.state) for eps in endpoints.values() for e in eps
        )
        yield _family(
            "neon_aggregate_projects",
            "Projects by region, Postgres version and state (unknown: not yet fetched), as "
            "last polled.",
            ["region_id", "pg_version", "state"],
            projects,
        )
        yield _family(
            "neon_aggregate_project_size_bytes",
            "Sum of the projects' storage size by region and Postgres version, as last polled.",
            ["region_id", "pg_version"],
            sizes,
        )
        yield _distribution(buckets)
        yield _family(
            "neon_aggregate_endpoints",
            "Compute endpoints by type and state, as last polled.",
            ["endpoint_type", "state"],
            by_state,
        )
        yield projects_per_key(view)


def _family(
    name: str, doc: str, labels: list[str], values: Mapping[tuple[str, ...], int]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for key, n in sorted(values.items()):
        family.add_metric(list(key), n)
    return family


def _distribution(counts: list[int]) -> GaugeMetricFamily:
    """Projects by size: cumulative counts per upper bound, as a histogram's buckets are (a
    plain gauge, so the classic text format carries it as it is)."""
    family = GaugeMetricFamily(
        "neon_aggregate_projects_by_size",
        "Projects whose storage size (bytes) is at most le, as last polled.",
        labels=["le"],
    )
    cumulative = 0
    for bound, n in zip((*SIZE_BUCKETS, float("inf")), counts, strict=True):
        cumulative += n
        family.add_metric(["+Inf" if bound == float("inf") else f"{bound}"], cumulative)
    return family
