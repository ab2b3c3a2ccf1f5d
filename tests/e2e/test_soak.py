"""Soak: the exporter as a process, polling fast against a simulator that keeps misbehaving, while
twenty scrapers hammer /metrics. File descriptors and memory must stay flat, every scrape must
answer, and no project may go missing (none of the injected faults removes data).

Half a minute of hundreds of polls: enough for a leaked socket or file per poll to show in the
fd count. The per-poll memory claim is proved exactly, in-process, by
tests/integration/test_leak.py (tracemalloc); the RSS check here is the coarse whole-process one.

Prints its figures (polls, scrapes, RSS and fds early and late) for the hardening note.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.procs import exporter, simulator, wait_for
from tests.support import KEYS

pytestmark = pytest.mark.e2e

TOKEN = KEYS["prod"]
PROJECTS = 10
SCRAPERS = 20
WARMUP = 5.0  # seconds: imports done, caches and connection pools filled (about 50 polls)
MEASURE = 30.0
SAMPLE_EVERY = 0.5
SCRAPE_PAUSE = 0.05
ENDPOINTS_ROUTE = "/projects/{project_id}/endpoints"
# Faults that fail or slow a poll but never remove data (no 401, no 404 on a project).
FAULTS: list[dict[str, object]] = [
    {"status": 500},
    {"status": 502, "body": "<html>502 Bad Gateway</html>", "content_type": "text/html"},
    {"status": 503},  # retried
    {"status": 429, "retry_after": "0"},  # retried
    {"body": '{"projects": ['},
    {"body": "<html>login</html>", "content_type": "text/html"},
    {"status": 500, "route": ENDPOINTS_ROUTE},
    {"body": '{"endpoints": [', "route": ENDPOINTS_ROUTE},
    {"delay": 0.3},
    {"status": 403, "route": "/auth"},
]
INFO_LINE = re.compile(r'^neon_project_info\{[^}]*project_id="([^"]+)"', re.M)


@dataclass
class Tally:
    scrapes: int = 0
    bad_status: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def scraper(url: str, stop: threading.Event, tally: Tally, expected: int) -> None:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
                status, text = resp.status, resp.read().decode()
        except (urllib.error.URLError, OSError) as exc:
            status, text = 0, str(exc)
        seen = len(INFO_LINE.findall(text)) if status == 200 else 0
        with tally.lock:
            tally.scrapes += 1
            if status != 200:
                tally.bad_status.append(f"{status}: {text[:200]}")
            elif seen != expected:
                tally.missing.append(f"{seen} of {expected} projects")
        # A pause like a real scraper's, short enough to keep 20 scrapes in flight: without it
        # the scrapers' own CPU use starves the polls the test is about on a 2-core machine.
        stop.wait(SCRAPE_PAUSE)


def injector(sim_url: str, stop: threading.Event, rng: random.Random, count: list[int]) -> None:
    while not stop.wait(rng.uniform(0.1, 0.6)):
        fault = {**rng.choice(FAULTS), "times": rng.randint(1, 4), "key_name": "prod"}
        req = urllib.request.Request(
            f"{sim_url}/_sim/faults",
            data=json.dumps(fault).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5):
            count[0] += 1


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_soak_flat_memory_and_fds_every_scrape_answers(tmp_path: Path) -> None:
    """Fast polls under random faults with 20 concurrent scrapers: RSS and fds stay flat after
    warm-up, every scrape is a 200 with every project, and the process survives."""
    with simulator(tmp_path, keys={"prod": TOKEN}, projects=PROJECTS, endpoints=1) as sim:
        env = {"NEON_API_KEY": TOKEN, "NEON_API_URL": f"{sim.url}/api/v2"}
        args = [
            "--poll.interval",
            "100ms",
            "--key-check.interval",
            "500ms",
            "--neon.max-requests-per-minute",
            "600000",
            "--poll.max-age",
            "10m",
        ]
        with exporter(tmp_path, args, env=env) as exp:
            pid = exp.proc.popen.pid

            def all_projects() -> bool:
                return len(INFO_LINE.findall(exp.metrics())) == PROJECTS

            wait_for(all_projects, timeout=20, what="first poll")
            stop = threading.Event()
            tally = Tally()
            injected = [0]
            threads = [
                threading.Thread(target=scraper, args=(exp.url, stop, tally, PROJECTS))
                for _ in range(SCRAPERS)
            ]
            threads.append(
                threading.Thread(target=injector, args=(sim.url, stop, random.Random(7), injected))
            )
            for t in threads:
                t.start()
            samples: list[tuple[int, int]] = []
            try:
                stop.wait(WARMUP)  # a soak's duration is its subject: these waits are the test
                deadline = time.monotonic() + MEASURE
                while time.monotonic() < deadline:
                    samples.append((rss_kib(pid), fds(pid)))
                    stop.wait(SAMPLE_EVERY)
            finally:
                stop.set()
                for t in threads:
                    t.join(timeout=30)
            assert exp.proc.popen.poll() is None, "the exporter died"
            logs = exp.logs()
    polls_ok = sum(1 for e in logs if e.get("event") == "poll done")
    polls_failed = sum(1 for e in logs if e.get("event") == "poll failed")
    unexpected = [e for e in logs if e.get("level") in ("error", "critical")]
    third = len(samples) // 3
    rss_first = statistics.median(s[0] for s in samples[:third])
    rss_last = statistics.median(s[0] for s in samples[-third:])
    fd_first = statistics.median(s[1] for s in samples[:third])
    fd_last = statistics.median(s[1] for s in samples[-third:])
    print(
        f"\nsoak: {polls_ok + polls_failed} polls ({polls_ok} ok, {polls_failed} failed), "
        f"{injected[0]} faults injected, {tally.scrapes} scrapes by {SCRAPERS} scrapers, "
        f"{len(samples)} samples; RSS median first third {rss_first / 1024:.1f} MiB, last third "
        f"{rss_last / 1024:.1f} MiB (max {max(s[0] for s in samples) / 1024:.1f} MiB); "
        f"fds first {fd_first:.0f}, last {fd_last:.0f} (max {max(s[1] for s in samples)})"
    )
    assert tally.bad_status == []
    assert tally.missing == []
    assert unexpected == []
    assert polls_ok > 100
    assert polls_failed > 10  # the faults did land
    assert tally.scrapes > 1000
    # Generous: a leak of a few KiB per poll over ~1000 polls would show as several MiB.
    assert rss_last <= rss_first * 1.10 + 4096, (rss_first, rss_last)
    assert fd_last <= fd_first + 10, (fd_first, fd_last)
    assert KEYS["prod"] not in json.dumps(logs)
