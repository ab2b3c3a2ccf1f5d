"""Budget benchmark: the budgeted refresh against the simulator at real request budgets.

    .venv/bin/python bench/budget.py --projects 1000 5000 10000 --budgets 120 300 600

Each (projects, budget) pair runs in its own process: the in-process simulator (1 endpoint per
project) on a loopback socket and the exporter's real KeyPoller and NeonClient. First a warm-up poll
at an unlimited budget fetches everything (so rotation, not first coverage, is measured); then,
at the real budget, polls start every ``--interval`` seconds (60 by default, like the scheduler,
with the slice the scheduler would give them) for ``--polls`` polls. Five seconds into the
measured run one project's endpoint changes state (and so its list entry's ``updated_at``).

Measured at the simulator: requests in every window (the largest count in any 60 s window, or
in the whole run if shorter, against budget x window + burst 10) and endpoint requests per
minute (the refresh throughput). Measured at the exporter: seconds from the change until the
snapshot being served has it (checked every 100 ms). Computed, not measured: time to refresh
every project's endpoints once at the measured throughput, against the floor (projects + list
requests) / budget.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestServer  # noqa: E402

from exporter.poll.plan import slice_seconds  # noqa: E402
from exporter.service import Service  # noqa: E402
from tests.sim import Simulator  # noqa: E402
from tests.support import KEYS, key_files, make_config  # noqa: E402

ENDPOINTS = "/projects/{project_id}/endpoints"
BURST = 10


def max_in_window(times: list[float], window: float) -> int:
    best, j = 0, 0
    for i, t in enumerate(times):
        while t - times[j] > window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def run(projects: int, budget: float, interval: float, polls: int) -> dict[str, float]:
    sim = Simulator(keys=KEYS, projects=projects, endpoints_per_project=1, seed=1)
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    tmp = Path(tempfile.mkdtemp())
    config = make_config(
        str(server.make_url("/api/v2")), key_files(tmp), max_requests_per_minute=60_000
    )
    svc = Service(config)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")  # warm-up: everything fetched once
    svc.config = dataclasses.replace(config, max_requests_per_minute=budget)
    since = time.monotonic()  # the log is a ring: select by time, not by position
    changed_pid = sim.project_ids()[projects // 2]
    endpoint = sim.endpoints_of(changed_pid)[0]
    new_state = "init" if endpoint.state != "init" else "idle"
    reflected: float | None = None
    # The slice the scheduler gives a poll of this interval.
    async with svc.pollers(slice_seconds=slice_seconds(interval)) as poller:
        t0 = time.monotonic()
        changed_at: float | None = None

        async def change() -> None:
            nonlocal changed_at
            await asyncio.sleep(5)
            sim.set_endpoint(endpoint.id, state=new_state)
            changed_at = time.monotonic()

        async def watch() -> None:
            # What a scrape would serve, looked at every 100 ms: polls publish changed
            # projects before they finish, so checking only after each poll would be late.
            nonlocal reflected
            while reflected is None:
                eps = svc.state.view().of("endpoints").get(changed_pid, ())
                if changed_at and any(e.state == new_state for e in eps):
                    reflected = time.monotonic() - changed_at
                await asyncio.sleep(0.1)

        changer = asyncio.ensure_future(change())
        watcher = asyncio.ensure_future(watch())
        for n in range(polls):
            await asyncio.sleep(max(0.0, t0 + n * interval - time.monotonic()))
            assert await poller.poll("prod")
        await changer
        watcher.cancel()
        elapsed = time.monotonic() - t0
    await server.close()
    reqs = [r for r in sim.requests if r.time >= since]
    times = sorted(r.time for r in reqs)
    window = min(60.0, elapsed)
    detail = sum(1 for r in reqs if r.route == ENDPOINTS)
    per_minute = detail / elapsed * 60
    lists = math.ceil(projects / 400)
    return {
        "projects": projects,
        "budget": budget,
        "elapsed_s": elapsed,
        "window_s": window,
        "max_in_window": max_in_window(times, window),
        "allowed_in_window": budget * window / 60 + BURST,
        "requests_per_min": len(reqs) / elapsed * 60,
        "endpoint_requests_per_min": per_minute,
        "full_refresh_min": projects / per_minute,
        "floor_min": (projects + lists) / budget,
        "changed_reflected_s": -1.0 if reflected is None else reflected,
    }


def one(args: tuple[int, float, float, int]) -> dict[str, float]:
    return asyncio.run(run(*args))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--projects", type=int, nargs="+", default=[1000, 5000, 10000])
    p.add_argument("--budgets", type=float, nargs="+", default=[120, 300, 600])
    p.add_argument("--interval", type=float, default=60.0)
    p.add_argument("--polls", type=int, default=2)
    a = p.parse_args()
    combos = [(n, b, a.interval, a.polls) for n in a.projects for b in a.budgets]
    with ProcessPoolExecutor(max_workers=len(combos)) as pool:
        rows = list(pool.map(one, combos))
    print(
        "| projects | budget/min | max requests in any 60 s window (allowed) | requests/min "
        "| endpoint refreshes/min | full refresh (computed) | floor | ratio | change seen after |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        seen = "not in run" if r["changed_reflected_s"] < 0 else f"{r['changed_reflected_s']:.0f} s"
        print(
            f"| {r['projects']:,} | {r['budget']:.0f} | {r['max_in_window']} "
            f"({r['allowed_in_window']:.0f}) | {r['requests_per_min']:.0f} "
            f"| {r['endpoint_requests_per_min']:.0f} | {r['full_refresh_min']:.1f} min "
            f"| {r['floor_min']:.1f} min | {r['full_refresh_min'] / r['floor_min']:.2f} | {seen} |"
        )
    print(json.dumps(rows), file=sys.stderr)


if __name__ == "__main__":
    main()
