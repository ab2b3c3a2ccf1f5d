"""Per-branch series (``--collector.branches``, off by default; v2 only).

From ``GET /projects/{project_id}/branches`` (all pages), refreshed in rotation with the
endpoints. The branch name is a label of the info metric only, so renaming a branch does not
start new size series.

Sample::

    neon_branch_info{branch_id="br-aged-salad-637688",branch_name="main",default="true",project_id="shiny-wind-028834",protected="false",state="ready"} 1.0
    neon_branch_logical_size_bytes{branch_id="br-aged-salad-637688",project_id="shiny-wind-028834"} 2.8e+07
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from .base import SnapshotCollector, ViewSource


class BranchCollector(SnapshotCollector):
    def __init__(self, view: ViewSource) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        view = self.view()
        if not view.branches:  # collector off, or nothing fetched yet
            return
        info = InfoMetricFamily(
            "neon_branch",
            "Neon branch metadata (polled from the Neon API); always 1.",
            labels=["project_id", "branch_id", "branch_name", "default", "protected", "state"],
        )
        size = GaugeMetricFamily(
            "neon_branch_logical_size_bytes",
            "Logical size of the branch in bytes, as last polled; absent until Neon reports it.",
            labels=["project_id", "branch_id"],
        )
        for pid, branches in view.branches.items():
            for b in branches:
                info.add_metric(
                    [
                        pid,
                        b.id,
                        b.name,
                        "true" if b.default else "false",
                        "true" if b.protected else "false",
                        b.state,
                    ],
                    {},
                )
                if b.logical_size_bytes is not None:
                    size.add_metric([pid, b.id], b.logical_size_bytes)
        yield from (info, size)
