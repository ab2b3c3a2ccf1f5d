"""Scrape benchmark: the exporter's /metrics against the same bytes served statically.

    .venv/bin/python bench/scrape.py --projects 1000 10000 50000

For each size: a simulator process with that many projects (2 endpoints each), the exporter as
its own process polling it, and, as the baseline measured in the same run, the very body the
exporter served, served as static bytes by a minimal aiohttp handler in its own process. Both are
scraped sequentially and concurrently in each format; we report median and p99 latency, their
ratio to the baseline, server CPU seconds per scrape, the exporter's RSS after several polls, and
the longest /healthz answer while the snapshot part is rendered (how long rendering blocks the
event loop, at most).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.procs import (  # noqa: E402
    Exporter,
    Proc,
    exporter,
    free_port,
    http_get,
    process,
    sample,
    simulator,
    wait_for,
)

TOKEN = "bench-" + "k" * 40
# aiohttp's client asks for gzip unless told otherwise, so the plain formats say "identity".
FORMATS = {
    "text": {"Accept": "text/plain", "Accept-Encoding": "identity"},
    "openmetrics": {
        "Accept": "application/openmetrics-text; version=1.0.0",
        "Accept-Encoding": "identity",
    },
    "openmetrics+gzip": {
        "Accept": "application/openmetrics-text; version=1.0.0",
        "Accept-Encoding": "gzip",
    },
}
SEQUENTIAL = 30
CONCURRENT_CLIENTS, CONCURRENT_EACH = 8, 5


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Timing:
    median_ms: float
    p99_ms: float
    cpu_ms_per_scrape: float


async def scrape_many(url: str, headers: dict[str, str], pid: int) -> tuple[Timing, Timing]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:

        async def one() -> float:
            started = time.perf_counter()
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200
            return time.perf_counter() - started

        await one()  # warm: the first scrape after a change renders
        cpu0 = cpu_seconds(pid)
        seq = [await one() for _ in range(SEQUENTIAL)]
        cpu1 = cpu_seconds(pid)

        async def client() -> list[float]:
            return [await one() for _ in range(CONCURRENT_EACH)]

        conc = [
            t
            for ts in await asyncio.gather(*(client() for _ in range(CONCURRENT_CLIENTS)))
            for t in ts
        ]
        cpu2 = cpu_seconds(pid)

    def timing(samples: list[float], cpu: float) -> Timing:
        q = statistics.quantiles(samples, n=100, method="inclusive")
        return Timing(statistics.median(samples) * 1e3, q[98] * 1e3, cpu / len(samples) * 1e3)

    return timing(seq, cpu1 - cpu0), timing(conc, cpu2 - cpu1)


async def longest_healthz_during_render(base: str) -> tuple[float, float]:
    """Scrape once (a fresh render) while pinging /healthz every 5 ms: (render s, max ping ms)."""
    async with aiohttp.ClientSession() as session:
        pings: list[float] = []
        done = asyncio.Event()

        async def pinger() -> None:
            while not done.is_set():
                started = time.perf_counter()
                async with session.get(f"{base}/healthz") as resp:
                    await resp.read()
                pings.append(time.perf_counter() - started)
                await asyncio.sleep(0.005)

        task = asyncio.ensure_future(pinger())
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        async with session.get(f"{base}/metrics", headers=FORMATS["openmetrics+gzip"]) as resp:
            await resp.read()
        render = time.perf_counter() - started
        await asyncio.sleep(0.05)
        done.set()
        await task
    return render, max(pings) * 1e3


def all_fetched(exp: Exporter) -> bool:
    """Every project's endpoints fetched at least once (the budgeted refresh may take polls)."""
    text = http_get(f"{exp.url}/metrics", timeout=300)  # a 50,000-project render takes a while
    left = sample(text, "neon_exporter_detail_unfetched_projects", {"kind": "endpoints"})
    return left == 0


def polls_done(proc: Proc) -> int:
    return proc.output().count('"event": "poll done"')


def run_size(projects: int, tmp: Path, polls: int) -> dict[str, object]:
    result: dict[str, object] = {"projects": projects}
    with (
        simulator(tmp, keys={"default": TOKEN}, projects=projects, endpoints=2) as sim,
        exporter(
            tmp,
            [
                "--poll.interval",
                "20s",
                "--poll.max-age",
                "1h",
                "--neon.max-requests-per-minute",
                "10000000",
                "--neon.max-concurrency",
                "16",
            ],
            env={"NEON_API_KEY": TOKEN, "NEON_API_URL": f"{sim.url}/api/v2"},
        ) as exp,
    ):
        pid = exp.proc.popen.pid
        started = time.monotonic()
        wait_for(lambda: all_fetched(exp), timeout=3600, interval=0.5, what="every endpoint")
        result["first_poll_s"] = round(time.monotonic() - started, 1)
        done = polls_done(exp.proc)
        wait_for(
            lambda: polls_done(exp.proc) >= done + polls, timeout=3600, interval=1, what="polls"
        )
        rss_after_first = rss_mb(pid)
        result["rss_mb"] = round(rss_mb(pid), 1)
        render_s, max_ping_ms = asyncio.run(longest_healthz_during_render(exp.url))
        result["cold_render_s"] = round(render_s, 3)
        result["max_healthz_ms_during_render"] = round(max_ping_ms, 1)
        # Stop polling from changing the body under the measurement: with the simulator gone,
        # polls fail and the last good snapshot is served unchanged.
        sim.proc.stop()
        time.sleep(2)
        per_format: dict[str, object] = {}
        for name, headers in FORMATS.items():
            body = asyncio.run(_fetch(f"{exp.url}/metrics", headers))
            try:
                ex_seq, ex_conc = asyncio.run(scrape_many(f"{exp.url}/metrics", headers, pid))
            except AssertionError:
                print(exp.proc.output()[-5000:], file=sys.stderr)
                raise
            body_file = tmp / f"body-{name}"
            body_file.write_bytes(body)
            port = free_port()
            ctype = (
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
                if "open" in name
                else "text/plain; version=0.0.4; charset=utf-8"
            )
            argv = [
                sys.executable,
                str(ROOT / "bench" / "static_server.py"),
                str(port),
                str(body_file),
                ctype,
                *(["gzip"] if "gzip" in name else []),
            ]
            with process(argv, tmp / f"static-{name}.log") as static:
                wait_for(partial(_up, f"http://127.0.0.1:{port}/healthz"), timeout=20)
                st_seq, st_conc = asyncio.run(
                    scrape_many(f"http://127.0.0.1:{port}/metrics", headers, static.popen.pid)
                )
            per_format[name] = {
                "bytes": len(body),
                "seq": (ex_seq, st_seq),
                "conc": (ex_conc, st_conc),
            }
        result["formats"] = per_format
        result["rss_growth_mb"] = round(rss_mb(pid) - rss_after_first, 1)
    return result


async def _fetch(url: str, headers: dict[str, str]) -> bytes:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(url, headers=headers) as resp,
    ):
        return await resp.read()


def _up(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback
            return True
    except OSError:
        return False


def report(results: Sequence[dict[str, object]]) -> str:
    lines = [
        "| projects | format | body | seq median ms (static) | ratio | seq p99 ms (static) | "
        "conc median ms (static) | ratio | CPU ms/scrape (static) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        formats = r["formats"]
        assert isinstance(formats, dict)
        for name, f in formats.items():
            ex_seq, st_seq = f["seq"]
            ex_conc, st_conc = f["conc"]
            size = f["bytes"]
            lines.append(
                f"| {r['projects']:,} | {name} | {size / 1e6:.2f} MB | "
                f"{ex_seq.median_ms:.2f} ({st_seq.median_ms:.2f}) | "
                f"{ex_seq.median_ms / st_seq.median_ms:.2f} | "
                f"{ex_seq.p99_ms:.2f} ({st_seq.p99_ms:.2f}) | "
                f"{ex_conc.median_ms:.2f} ({st_conc.median_ms:.2f}) | "
                f"{ex_conc.median_ms / st_conc.median_ms:.2f} | "
                f"{ex_seq.cpu_ms_per_scrape:.2f} ({st_seq.cpu_ms_per_scrape:.2f}) |"
            )
    lines += [
        "",
        "| projects | every endpoint fetched after s | RSS MB after polls | "
        "RSS growth MB during scrapes | cold render s (openmetrics+gzip) | "
        "longest /healthz ms during render |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['projects']:,} | {r['first_poll_s']} | {r['rss_mb']} | {r['rss_growth_mb']} | "
            f"{r['cold_render_s']} | {r['max_healthz_ms_during_render']} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--polls", type=int, default=3, help="polls before measuring RSS")
    args = parser.parse_args(argv)
    results = []
    for n in args.projects:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run_size(n, Path(tmp), args.polls))
        print(report(results[-1:]), flush=True)
    print()
    print(report(results))


if __name__ == "__main__":
    main()
