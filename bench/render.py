"""Render benchmark: the whole table of bench/README.md ("Rendering at fleet sizes") at once.

    .venv/bin/python bench/render.py --projects 1000 10000 50000 100000

For each size, in this process (a view like the simulator's, two endpoints per project):
the baseline, prometheus_client rendering the whole view as the exporter did before (OpenMetrics,
then gzip); the fragment renderer's first render (every project) and its render after 1 % of
the projects changed (new lines for those, then the gzip body from kept members, and, for the
comparison, by recompressing the whole body); the longest slice between two yields to the
event loop; the series count.

Then, as processes: a simulator with that many projects and the exporter polling it with the
request budget lifted until every endpoint is fetched, then 30 s of OpenMetrics+gzip scrapes
every second while /healthz is asked every 5 ms (the longest answer bounds how long anything
blocked the event loop) and the RSS after; then two exporters with default settings polling the
same simulator for ``--cpu-seconds``, one scraped every 15 s and one never (the baseline in the
same run), and the CPU of each (process and children) per minute, as a share of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import json
import os
import random
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.assemble import Assembler  # noqa: E402
from exporter.fragments import Fragments  # noqa: E402
from prometheus_client.openmetrics.exposition import generate_latest  # noqa: E402

from exporter.areas import frozen_registry  # noqa: E402
from exporter.neon.models import Endpoint, Project  # noqa: E402
from exporter.poll.state import View  # noqa: E402
from tests.procs import Exporter, exporter, free_port, process, sample, simulator, wait_for  # noqa: E402

TOKEN = "bench-" + "k" * 40
OM_GZIP = {"Accept": "application/openmetrics-text; version=1.0.0", "Accept-Encoding": "gzip"}
AREAS = ("projects", "endpoints")


def synthetic_view(n: int, seed: int = 1) -> View:
    rng = random.Random(seed)
    projects: dict[str, Project] = {}
    eps: dict[str, tuple[Endpoint, ...]] = {}
    for i in range(n):
        pid = f"{rng.choice(['shiny', 'wispy', 'calm'])}-{rng.choice(['sea', 'wind'])}-{i:06d}"
        projects[pid] = Project(
            pid, pid, "aws-us-east-2", "aws", "", rng.choice([15, 16, 17]), rng.randrange(10**9)
        )
        eps[pid] = tuple(_endpoint(pid, j, rng) for j in range(2))
    return _view(projects, eps)


def _endpoint(pid: str, j: int, rng: random.Random) -> Endpoint:
    state = rng.choice(["idle", "active"])
    last = 1.7e9 + rng.randrange(10**6)
    return Endpoint(
        f"ep-{pid}-{j}", pid, f"br-{pid}", "read_write", state, None, 0.25, 2.0, 0, last
    )


def _view(projects: dict[str, Project], eps: dict[str, tuple[Endpoint, ...]]) -> View:
    detail = MappingProxyType({"endpoints": MappingProxyType(eps)})
    return View(MappingProxyType(projects), MappingProxyType({"default": len(projects)}), detail)


def changed(view: View, share: float, seed: int = 2) -> View:
    """``view`` with ``share`` of its projects changed as a compute waking up changes one:
    its size, and one endpoint's state and last activity."""
    rng = random.Random(seed)
    projects = dict(view.projects)
    eps = dict(view.of("endpoints"))
    for pid in rng.sample(sorted(projects), max(1, int(len(projects) * share))):
        projects[pid] = replace(projects[pid], size_bytes=rng.randrange(10**9))
        first, *rest = eps[pid]
        state = "idle" if first.state == "active" else "active"
        woken = replace(first, state=state, last_active_timestamp=2e9 + rng.randrange(10**6))
        eps[pid] = (woken, *rest)
    return _view(projects, eps)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """CPU seconds of ``fn`` (this process runs nothing else meanwhile): on a shared machine
    CPU time varies far less than wall time."""
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


def in_process(n: int) -> dict[str, Any]:
    view = synthetic_view(n)
    gc.collect()

    def old() -> bytes:  # the exporter before: prometheus_client over the whole view
        text = generate_latest(frozen_registry(view, areas=AREAS))  # type: ignore[no-untyped-call]
        return gzip.compress(bytes(text), 6)

    baseline_s, old_body = timed(old)
    frag = Fragments(AREAS)
    asm = Assembler(frag)
    started = time.process_time()
    slice_s = drive(frag.update(view))
    asm.gzipped(view, openmetrics=True)
    full_s = time.process_time() - started
    plain = b"".join(asm.plain(view, openmetrics=True))
    after = changed(view, 0.01)
    update_s, slice2 = timed(lambda: drive(frag.update(after)))
    before = asm.compressed
    members_s, members = timed(lambda: asm.gzipped(after, openmetrics=True))
    members_in = asm.compressed - before
    whole_s, whole = timed(lambda: asm.gzipped(after, openmetrics=True, whole=True))
    return {
        "series": sum(1 for line in plain.split(b"\n") if line and not line.startswith(b"#")),
        "plain_mb": len(plain) / 1e6,
        "baseline_s": baseline_s,
        "baseline_gz_mb": len(old_body) / 1e6,
        "full_s": full_s,
        "slice_ms": max(slice_s, slice2) * 1e3,
        "incr_members_s": update_s + members_s,
        "incr_whole_s": update_s + whole_s,
        "members_mb": len(members) / 1e6,
        "whole_mb": len(whole) / 1e6,
        "members_recompressed_mb": members_in / 1e6,
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


async def fetch(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url, headers=OM_GZIP) as resp:
        return (await resp.read()).decode()


async def unfetched(url: str) -> float | None:
    async with aiohttp.ClientSession() as session:
        text = await fetch(session, f"{url}/metrics")
    return sample(text, "neon_exporter_detail_unfetched_projects", {"kind": "endpoints"})


async def scrape_and_ping(url: str, static: str, seconds: float) -> tuple[float, float, float]:
    """Scrape every second and ask /healthz every 5 ms, of the exporter and of the static
    server at once (the baseline: on a shared machine the scheduler alone delays answers):
    the longest /healthz of each and the longest scrape, in ms."""
    pings: list[float] = []
    static_pings: list[float] = []
    scrapes: list[float] = []
    deadline = time.monotonic() + seconds
    # Bodies read, not decompressed: a busy client would delay the pings it measures.
    async with aiohttp.ClientSession(auto_decompress=False) as session:

        async def timed_get(url: str, out: list[float], every: float) -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                async with session.get(url, headers=OM_GZIP) as resp:
                    await resp.read()
                out.append(time.perf_counter() - started)
                await asyncio.sleep(every)

        await asyncio.gather(
            timed_get(f"{url}/healthz", pings, 0.005),
            timed_get(f"{static}/healthz", static_pings, 0.005),
            timed_get(f"{url}/metrics", scrapes, 1),
        )
    return max(pings) * 1e3, max(static_pings) * 1e3, max(scrapes) * 1e3


def lifted(n: int, tmp: Path, sim_url: str) -> dict[str, Any]:
    args = ["--poll.interval", "10s", "--neon.max-requests-per-minute", "10000000"]
    env = {"NEON_API_KEY": TOKEN, "NEON_API_URL": f"{sim_url}/api/v2"}
    with exporter(tmp, [*args, "--neon.max-concurrency", "16"], env=env) as exp:
        pid = exp.proc.popen.pid
        started = time.monotonic()
        wait_for(lambda: asyncio.run(unfetched(exp.url)) == 0, timeout=3600, interval=1)
        fetched_s = time.monotonic() - started
        (tmp / "ok").write_bytes(b"ok\n")
        port = free_port()
        argv = [
            sys.executable,
            str(ROOT / "bench" / "static_server.py"),
            str(port),
            str(tmp / "ok"),
        ]
        with process([*argv, "text/plain"], tmp / "static.log"):
            static = f"http://127.0.0.1:{port}"
            wait_for(partial(_up, static), timeout=20)
            ping_ms, static_ms, scrape_ms = asyncio.run(scrape_and_ping(exp.url, static, 30))
        return {
            "fetched_s": fetched_s,
            "ping_ms": ping_ms,
            "static_ping_ms": static_ms,
            "scrape_ms": scrape_ms,
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


def run_size(n: int, cpu_seconds: float) -> dict[str, Any]:
    result: dict[str, Any] = {"projects": n, **in_process(n)}
    gc.collect()
    with (
        tempfile.TemporaryDirectory() as tmp,
        simulator(Path(tmp), keys={"default": TOKEN}, projects=n, endpoints=2) as sim,
    ):
        result |= lifted(n, Path(tmp), sim.url)
        result |= default_cpu(Path(tmp), sim.url, cpu_seconds)
    return result


def report(results: Sequence[dict[str, Any]]) -> str:
    head = (
        "| projects | series | body MB (gzip) | baseline render s | full render s (ratio) | "
        "1% change s: members (whole) | gzip MB: members (whole) | recompressed MB | "
        "longest slice ms | longest /healthz ms (static) | RSS MB (peak) | "
        "CPU %/core scraped (not) |"
    )
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in results:
        lines.append(
            f"| {r['projects']:,} | {r['series']:,} | {r['plain_mb']:.1f} ({r['whole_mb']:.2f}) | "
            f"{r['baseline_s']:.2f} | {r['full_s']:.2f} ({r['full_s'] / r['baseline_s']:.2f}) | "
            f"{r['incr_members_s'] * 1e3:.0f} ms ({r['incr_whole_s'] * 1e3:.0f} ms) | "
            f"{r['members_mb']:.2f} ({r['whole_mb']:.2f}) | {r['members_recompressed_mb']:.1f} | "
            f"{r['slice_ms']:.1f} | {r['ping_ms']:.0f} ({r['static_ping_ms']:.0f}) | "
            f"{r['rss_mb']:.0f} ({r['hwm_mb']:.0f}) | "
            f"{r['cpu_pct']:.2f} ({r['cpu_idle_pct']:.2f}) |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, nargs="+", default=[1000, 10000, 50000, 100000])
    parser.add_argument("--cpu-seconds", type=float, default=180.0)
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    results = []
    for n in args.projects:
        results.append(run_size(n, args.cpu_seconds))
        print(report(results[-1:]), flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    print()
    print(report(results))


if __name__ == "__main__":
    main()
