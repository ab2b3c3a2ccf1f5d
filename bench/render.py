"""Render benchmark: the whole "Rendering at fleet sizes" section of bench/README.md at once.

    .venv/bin/python bench/render.py --projects 1000 10000 50000 100000

For each size, in this process (one key's snapshot like the simulator's, two endpoints per
project, published to a State): the floor (bench/floor.py: the same series by plain f-strings,
then compressed four ways); the store's full render and the OpenMetrics+gzip body, and its ratio
to the floor; a poll that changed 1 % of the projects, step by step from the poll-side compare
to the new gzip body; the longest stretch between two yields to the event loop; gzip members
per block of projects (the design before) against the whole body.

Then, as processes: a simulator with that many projects and the exporter polling it with the
request budget lifted, watched from its start until 30 s after every endpoint is fetched:
/healthz every 5 ms, of it and of a static server (the baseline), and a scrape every second;
its RSS after. Then two exporters with default settings polling the same simulator, one scraped
every 15 s and one never (the baseline in the same run), and the CPU of each (process and
children) per minute, as a share of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import sys
import tempfile
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import floor as bench_floor  # noqa: E402 - bench/floor.py, beside this file

from exporter.areas import layout  # noqa: E402
from exporter.exposition.serve import gzipped  # noqa: E402
from exporter.exposition.store import Layout, Store  # noqa: E402
from exporter.neon.models import Endpoint, Project  # noqa: E402
from exporter.poll.result import same  # noqa: E402
from exporter.poll.state import PollResult, State, View  # noqa: E402
from tests.procs import Exporter, exporter, free_port, process, simulator, wait_for  # noqa: E402

TOKEN = "bench-" + "k" * 40
OM_GZIP = {"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"}
AREAS = ("projects", "endpoints")
NOW = 1.8e9  # the synthetic polls' wall-clock time
T = TypeVar("T")


def synthetic(n: int, seed: int = 1) -> tuple[dict[str, Project], dict[str, tuple[Endpoint, ...]]]:
    """Projects and their endpoints like the simulator's: two endpoints each."""
    rng = random.Random(seed)
    projects: dict[str, Project] = {}
    eps: dict[str, tuple[Endpoint, ...]] = {}
    for i in range(n):
        pid = f"{rng.choice(['shiny', 'wispy', 'calm'])}-{rng.choice(['sea', 'wind'])}-{i:06d}"
        projects[pid] = Project(
            pid, pid, "aws-us-east-2", "aws", "", rng.choice([15, 16, 17]), rng.randrange(10**9)
        )
        eps[pid] = tuple(_endpoint(pid, j, rng) for j in range(2))
    return projects, eps


def _endpoint(pid: str, j: int, rng: random.Random) -> Endpoint:
    state = rng.choice(["idle", "active"])
    last = 1.7e9 + rng.randrange(10**6)
    return Endpoint(
        f"ep-{pid}-{j}", pid, f"br-{pid}", "read_write", state, None, 0.25, 2.0, 0, last
    )


def snapshot_of(projects: dict[str, Project], eps: dict[str, tuple[Endpoint, ...]]) -> PollResult:
    """A poll's snapshot of one key that has fetched every project's endpoints."""
    fetched = MappingProxyType(dict.fromkeys(projects, NOW))
    return PollResult(
        "default",
        NOW,
        MappingProxyType(projects),
        detail=MappingProxyType({"endpoints": MappingProxyType(eps)}),
        fetched=MappingProxyType({"endpoints": fetched}),
    )


def synthetic_view(n: int) -> View:
    state = State(("default",), max_age=1e9, clock=lambda: NOW)
    state.publish("default", snapshot_of(*synthetic(n)))
    return state.view()


def changed(
    projects: dict[str, Project], eps: dict[str, tuple[Endpoint, ...]], share: float, seed: int = 2
) -> tuple[dict[str, Project], dict[str, tuple[Endpoint, ...]], list[str]]:
    """New dicts with ``share`` of the projects changed as a compute waking up changes one:
    its size, and one endpoint's state and last activity; and the ids changed. The others are
    equal, not the same objects, as after a real poll."""
    rng = random.Random(seed)
    # Every record anew, as a poll parses them (its strings interned, as the parser does).
    projects = {pid: replace(p) for pid, p in projects.items()}
    eps = {pid: tuple(replace(e) for e in es) for pid, es in eps.items()}
    ids = rng.sample(sorted(projects), max(1, int(len(projects) * share)))
    for pid in ids:
        projects[pid] = replace(projects[pid], size_bytes=rng.randrange(10**9))
        first, *rest = eps[pid]
        state = "idle" if first.state == "active" else "active"
        woken = replace(first, state=state, last_active_timestamp=2e9 + rng.randrange(10**6))
        eps[pid] = (woken, *rest)
    return projects, eps, ids


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """CPU seconds of ``fn`` (this process runs nothing else meanwhile; threads included): on a
    shared machine CPU time varies far less than wall time."""
    started = time.process_time()
    out = fn()
    return time.process_time() - started, out


def drive(updates: Iterator[None]) -> float:
    """Run an update as the event loop would; the longest stretch between yields, in CPU s."""
    longest, last = 0.0, time.thread_time()
    for _ in updates:
        now = time.thread_time()
        longest, last = max(longest, now - last), now
    return max(longest, time.thread_time() - last)


def helps_of(lay: Layout | None = None) -> dict[str, str]:
    """Each family's OpenMetrics header by name: declared text the floor is given, not work."""
    lay = lay or layout(AREAS)
    return {f.name: f.openmetrics_header.decode() for f, _ in lay.families}


def in_process(n: int) -> dict[str, Any]:
    projects, eps = synthetic(n)
    state = State(("default",), max_age=1e9, clock=lambda: NOW)
    state.publish("default", snapshot_of(projects, eps))
    view_s, view = timed(state.view)
    gc.collect()
    lay = layout(AREAS)
    floor = bench_floor.floor(view, helps_of(lay))
    store = Store(lay)
    update_s, slice_s = timed(lambda: drive(store.update(view)))
    gzip_s, body = timed(lambda: gzipped(store.parts(openmetrics=True)))
    plain = store.parts(openmetrics=True)
    if b"".join(plain) != b"".join(floor.pop("parts")):
        raise AssertionError("the floor does not write the exporter's bytes")
    out = {
        "series": sum(part.count(b"\n") for part in plain) - 2 * len(plain),
        "plain_mb": sum(map(len, plain)) / 1e6,
        "gzip_mb": len(body) / 1e6,
        "view_s": view_s,
        "update_s": update_s,
        "assemble_gzip_s": gzip_s,
        "full_s": update_s + gzip_s,
        "floor": floor,
    }
    return out | one_percent(state, store, projects, eps) | {"slice_ms": slice_s * 1e3}


def one_percent(
    state: State, store: Store, projects: dict[str, Project], eps: dict[str, tuple[Endpoint, ...]]
) -> dict[str, Any]:
    """A poll that changed 1 % of the projects, from its publish to the new gzip body: each
    step's CPU s, and the longest stretch of them on the event loop (the update is sliced)."""
    new_projects, new_eps, ids = changed(projects, eps, 0.01)
    gc.collect()
    # What the poll does as each page and detail arrives: equal records stay the old objects.
    same_s, _ = timed(lambda: kept_same(projects, eps, new_projects, new_eps))
    snap = snapshot_of(new_projects, new_eps)
    publish_s, _ = timed(lambda: state.publish("default", snap))
    view_s, view = timed(state.view)
    update_s, slice_s = timed(lambda: drive(store.update(view)))
    gzip_s, _ = timed(lambda: gzipped(store.parts(openmetrics=True)))
    return {
        "change_same_s": same_s,
        "change_publish_s": publish_s,
        "change_view_s": view_s,
        "change_update_s": update_s,
        "change_gzip_s": gzip_s,
        "change_s": publish_s + view_s + update_s + gzip_s,
        "change_slice_ms": slice_s * 1e3,
        "loop_ms": max(publish_s, view_s, slice_s) * 1e3,
        **members(store, set(ids)),
    }


def kept_same(
    projects: dict[str, Project],
    eps: dict[str, tuple[Endpoint, ...]],
    new_projects: dict[str, Project],
    new_eps: dict[str, tuple[Endpoint, ...]],
) -> None:
    """The poll's ``refresh.same`` over a whole poll, in place: the list, then the endpoints."""
    for pid, p in new_projects.items():
        new_projects[pid] = same(projects.get(pid), p)
    for pid, e in new_eps.items():
        new_eps[pid] = same(eps.get(pid), e)


def members(store: Store, ids: set[str], block: int = 32) -> dict[str, Any]:
    """The old design, simulated on the store's lines: a gzip member per block of ``block``
    projects and family, only the blocks holding a changed project recompressed; against
    compressing the whole (already joined) body once, at the same level (isal 1)."""
    kept = store._kept  # what the store keeps per project
    order = sorted(kept)
    blocks = [order[i : i + block] for i in range(0, len(order), block)]
    columns = range(len(next(iter(kept.values()))))

    def member(pids: list[str], i: int) -> bytes:
        return gzipped([b"".join([kept[p][i] for p in pids])])

    touched = [b for b in blocks if not ids.isdisjoint(b)]
    touched_s, _ = timed(lambda: [member(b, i) for b in touched for i in columns])
    all_members = sum(len(member(b, i)) for b in blocks for i in columns)
    body = b"".join(store.parts(openmetrics=True))
    whole_s, whole = timed(lambda: gzipped([body]))
    return {
        "members_s": touched_s,
        "members_blocks": f"{len(touched)}/{len(blocks)}",
        "members_mb": all_members / 1e6,
        "whole_s": whole_s,
        "whole_mb": len(whole) / 1e6,
    }


def proc_cpu(pid: int) -> float:
    """utime + stime of the process and of its waited-for children, in s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


UNFETCHED = re.compile(
    rb'neon_exporter_detail_unfetched_projects\{[^}]*kind="endpoints"[^}]*\} (\S+)'
)


def unfetched(body: bytes) -> float | None:
    """Projects without endpoints yet, from a gzip body's last member (the live part: a few KB,
    so the big member before it need not be inflated by the client that measures)."""
    at = len(body)
    while (at := body.rfind(b"\x1f\x8b\x08", 0, at)) >= 0:
        try:
            text = zlib.decompressobj(31).decompress(body[at:])
        except zlib.error:
            continue
        if text.endswith(b"# EOF\n"):
            m = UNFETCHED.search(text)
            return float(m.group(1)) if m else None
    return None


@dataclass
class Watch:
    """What the clients of :func:`watch` saw: each /healthz answer (s since the start, ms) of
    the exporter and of the static server, and when every endpoint had been fetched."""

    pings: list[tuple[float, float]] = field(default_factory=list)
    static: list[tuple[float, float]] = field(default_factory=list)
    fetched_at: float | None = None

    @staticmethod
    def longest(pings: list[tuple[float, float]], since: float = 0.0) -> float:
        return max((ms for at, ms in pings if at >= since), default=float("nan"))


async def watch(url: str, static: str, after: float) -> Watch:
    """From the exporter's start: /healthz every 5 ms, of it and of the static server at once
    (the baseline: on a shared machine the scheduler alone delays answers), and an
    OpenMetrics+gzip scrape every second, until ``after`` s past every endpoint's first fetch."""
    seen = Watch()
    started = time.monotonic()

    def done() -> bool:
        return seen.fetched_at is not None and time.monotonic() - started > seen.fetched_at + after

    # Bodies read, not inflated: a busy client would delay the pings it measures.
    async with aiohttp.ClientSession(auto_decompress=False) as session:

        async def ping(url: str, out: list[tuple[float, float]]) -> None:
            while not done():
                at = time.perf_counter()
                async with session.get(url) as resp:
                    await resp.read()
                out.append((time.monotonic() - started, (time.perf_counter() - at) * 1e3))
                await asyncio.sleep(0.005)

        async def scrape() -> None:
            while not done():
                async with session.get(f"{url}/metrics", headers=OM_GZIP) as resp:
                    body = await resp.read()
                if seen.fetched_at is None and unfetched(body) == 0:
                    seen.fetched_at = time.monotonic() - started
                await asyncio.sleep(1)

        await asyncio.gather(
            ping(f"{url}/healthz", seen.pings), ping(f"{static}/healthz", seen.static), scrape()
        )
    return seen


def lifted(tmp: Path, sim_url: str, settle: float) -> dict[str, Any]:
    """The exporter polling every 10 s with the request budget lifted, watched from its start
    until ``settle`` s after every endpoint is fetched; then its RSS and peak."""
    (tmp / "ok").write_bytes(b"ok\n")
    port = free_port()
    static = f"http://127.0.0.1:{port}"
    static_argv = [sys.executable, str(ROOT / "bench" / "static_server.py"), str(port)]
    args = ["--poll.interval", "10s", "--neon.max-requests-per-minute", "10000000"]
    env = {"NEON_API_KEY": TOKEN, "NEON_API_URL": f"{sim_url}/api/v2"}
    with (
        process([*static_argv, str(tmp / "ok"), "text/plain"], tmp / "static.log"),
        exporter(tmp, [*args, "--neon.max-concurrency", "16"], env=env) as exp,
    ):
        wait_for(partial(_up, static), timeout=20)
        seen = asyncio.run(watch(exp.url, static, settle))
        pid = exp.proc.popen.pid
        assert seen.fetched_at is not None
        return {
            "fetched_s": seen.fetched_at,
            "ping_ms": seen.longest(seen.pings),
            "static_ping_ms": seen.longest(seen.static),
            "ping_after_ms": seen.longest(seen.pings, seen.fetched_at),
            # The five longest answers of each (s since the start, ms): whether they coincide.
            "stalls": sorted(seen.pings, key=lambda p: -p[1])[:5],
            "static_stalls": sorted(seen.static, key=lambda p: -p[1])[:5],
            "rss_mb": status_mb(pid, "VmRSS"),
            "hwm_mb": status_mb(pid, "VmHWM"),
        }


async def scrape_every(url: str, seconds: float, every: float) -> None:
    """Scrape at once, then every ``every`` s until ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        while True:
            async with session.get(f"{url}/metrics", headers=OM_GZIP) as resp:
                await resp.read()
            if time.monotonic() + every >= deadline:
                await asyncio.sleep(max(0.0, deadline - time.monotonic()))
                return
            await asyncio.sleep(every)


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310 - loopback
            return True
    except OSError:
        return False


def _polled(exp: Exporter) -> bool:
    return '"event": "poll done"' in exp.proc.output()


def default_cpu(tmp: Path, sim_url: str, seconds: float) -> dict[str, Any]:
    env = {"NEON_API_KEY": TOKEN, "NEON_API_URL": f"{sim_url}/api/v2"}
    with ExitStack() as stack:
        scraped, idle = (stack.enter_context(exporter(tmp, [], env=env)) for _ in range(2))
        for exp in (scraped, idle):
            wait_for(partial(_polled, exp), timeout=3600)
        # The first render of every project is the full render measured above, not polling.
        asyncio.run(scrape_every(scraped.url, 0, 15))
        cpu0 = [proc_cpu(e.proc.popen.pid) for e in (scraped, idle)]
        started = time.monotonic()
        asyncio.run(scrape_every(scraped.url, seconds, 15))
        seconds = time.monotonic() - started
        cpu1 = [proc_cpu(e.proc.popen.pid) for e in (scraped, idle)]
        rss = status_mb(scraped.proc.popen.pid, "VmRSS")
    per_min = [(b - a) / seconds * 100 for a, b in zip(cpu0, cpu1, strict=True)]
    return {"cpu_pct": per_min[0], "cpu_idle_pct": per_min[1], "default_rss_mb": rss}


def run_size(n: int, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"projects": n, **in_process(n)}
    gc.collect()
    if n > args.processes_up_to:
        return result
    with (
        tempfile.TemporaryDirectory() as tmp,
        simulator(Path(tmp), keys={"default": TOKEN}, projects=n, endpoints=2) as sim,
    ):
        result |= lifted(Path(tmp), sim.url, args.settle)
        result |= default_cpu(Path(tmp), sim.url, args.cpu_seconds)
    return result


def _table(head: str, rows: Iterable[str]) -> str:
    return "\n".join([head, "|---" * (head.count("|") - 1) + "|", *rows])


def report(results: Sequence[dict[str, Any]]) -> str:
    """The tables of bench/README.md: rendering, compression, gzip members, processes."""
    render = _table(
        "| projects | series | body MB (gzip) | floor s | full render s (x floor) | update s | "
        "assemble+gzip s | 1% change ms | of it: publish / view / update / gzip ms | "
        "poll-side compare ms | longest loop stretch ms |",
        (
            f"| {r['projects']:,} | {r['series']:,} | {r['plain_mb']:.1f} ({r['gzip_mb']:.2f}) | "
            f"{_floor_s(r):.3f} | {r['full_s']:.3f} ({r['full_s'] / _floor_s(r):.2f}) | "
            f"{r['update_s']:.3f} | {r['assemble_gzip_s']:.3f} | {r['change_s'] * 1e3:.1f} | "
            + " / ".join(f"{r[f'change_{k}_s'] * 1e3:.1f}" for k in CHANGE_STEPS)
            + f" | {r['change_same_s'] * 1e3:.1f} | {max(r['slice_ms'], r['loop_ms']):.1f} |"
            for r in results
        ),
    )
    names = list(bench_floor.compressors())
    floor = _table(
        "| projects | floor: format s | " + " | ".join(f"{c}: s (MB)" for c in names) + " |",
        (
            f"| {r['projects']:,} | {r['floor']['format_s']:.3f} | "
            + " | ".join(f"{r['floor'][f'{c} s']:.3f} ({r['floor'][f'{c} MB']:.2f})" for c in names)
            + " |"
            for r in results
        ),
    )
    members = _table(
        "| projects | 1% change: members recompressed ms (blocks) | whole body ms | "
        "gzip MB: members (whole) |",
        (
            f"| {r['projects']:,} | {r['members_s'] * 1e3:.1f} ({r['members_blocks']}) | "
            f"{r['whole_s'] * 1e3:.1f} | {r['members_mb']:.2f} ({r['whole_mb']:.2f}) |"
            for r in results
        ),
    )
    return "\n\n".join([render, floor, members, _processes(results)])


CHANGE_STEPS = ("publish", "view", "update", "gzip")
"""The steps of a change after the poll, on the loop (the update sliced) and in a thread."""


def _floor_s(r: dict[str, Any]) -> float:
    """The floor of what the full render does: format, then isal level 1 as the exporter."""
    return float(r["floor"]["format_s"] + r["floor"]["isal 1 s"])


def _processes(results: Sequence[dict[str, Any]]) -> str:
    return _table(
        "| projects | every endpoint fetched after s | longest /healthz ms (static) | "
        "of it after every fetch ms | RSS MB (peak) | CPU %/core scraped (not) |",
        (
            f"| {r['projects']:,} | {r['fetched_s']:.0f} | {r['ping_ms']:.0f} "
            f"({r['static_ping_ms']:.0f}) | {r['ping_after_ms']:.0f} | {r['rss_mb']:.0f} "
            f"({r['hwm_mb']:.0f}) | {r['cpu_pct']:.2f} ({r['cpu_idle_pct']:.2f}) |"
            for r in results
            if "fetched_s" in r
        ),
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, nargs="+", default=[1000, 10000, 50000, 100000])
    parser.add_argument("--cpu-seconds", type=float, default=180.0)
    parser.add_argument("--settle", type=float, default=30.0, help="s watched after the fetch")
    parser.add_argument(
        "--processes-up-to", type=int, default=10**9, help="larger sizes: in-process only"
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    results = []
    for n in args.projects:
        results.append(run_size(n, args))
        print(report(results[-1:]), flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
    print()
    print(report(results))


if __name__ == "__main__":
    main()
