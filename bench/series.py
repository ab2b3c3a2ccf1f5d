"""Series per scrape in each --metrics.mode, at fleet sizes (counts, not timings).

    .venv/bin/python bench/series.py --projects 1000 10000 50000 100000

A synthetic view of N projects over 4 regions and 3 Postgres versions, two compute endpoints
each (the default collectors: the project list and endpoints), rendered by the exporter's own
registries; the count is the sample lines of the text exposition.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import MappingProxyType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exporter.areas import layout
from exporter.exposition.own import build_metrics
from exporter.exposition.serve import Exposition
from exporter.neon.models import Endpoint, Project
from exporter.poll.state import PollResult, State

REGIONS = ("aws-us-east-2", "aws-eu-central-1", "aws-us-west-2", "azure-eastus2")
STATES = ("idle", "active", "init")


def snapshot(n: int) -> PollResult:
    projects, endpoints = {}, {}
    for i in range(n):
        pid = f"project-{i:06d}"
        projects[pid] = Project(
            pid, pid, REGIONS[i % 4], "aws", "org-a", 15 + i % 3, (i % 977) * 2**24
        )
        endpoints[pid] = tuple(
            Endpoint(f"ep-{i}-{j}", pid, f"br-{i}", "read_write" if j == 0 else "read_only",
                     STATES[(i + j) % 3], None, 0.25, 2.0, 300.0, None)
            for j in range(2)
        )  # fmt: skip
    return PollResult("prod", 0.0, MappingProxyType(projects), detail={"endpoints": endpoints})


def series(n: int, mode: str) -> int:
    state = State(keys=("prod",), max_age=1e12, clock=lambda: 0.0)
    state.record_poll("prod", snapshot(n), 1.0)
    on = layout(("projects", "endpoints"), aggregate=mode == "aggregate")
    text = Exposition(state, build_metrics(), on).rendered().decode()
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, nargs="+", default=[1000, 10_000])
    args = parser.parse_args()
    print("| projects | series, `projects` mode | series, `aggregate` mode |")
    print("|---|---|---|")
    for n in args.projects:
        print(f"| {n:,} | {series(n, 'projects'):,} | {series(n, 'aggregate'):,} |", flush=True)


if __name__ == "__main__":
    main()
