"""Real processes for tests: the exporter and the simulator as subprocesses on free ports.

Each process's output goes to a file (never a pipe that could fill up), and every process is
stopped by PID in every outcome by the context managers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    check: Callable[[], bool], *, timeout: float, interval: float = 0.1, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or check}")


def http_get(url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 5) -> str:
    req = urllib.request.Request(url, headers=dict(headers or {}))
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return str(resp.read().decode())


def http_post(url: str, body: bytes = b"", *, timeout: float = 5) -> int:
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return int(resp.status)


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then SIGKILL if it does not go; returns the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return int(self.popen.returncode)


@contextmanager
def process(
    argv: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None
) -> Iterator[Proc]:
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env or os.environ),
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
        )
    proc = Proc(popen, log_path)
    try:
        yield proc
    finally:
        proc.stop()


def wait_for_line(proc: Proc, pattern: str, *, timeout: float = 20) -> re.Match[str]:
    found: list[re.Match[str]] = []

    def check() -> bool:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"process exited {proc.popen.returncode}:\n{proc.output()}")
        m = re.search(pattern, proc.output())
        if m:
            found.append(m)
        return bool(m)

    wait_for(check, timeout=timeout, what=pattern)
    return found[0]


@dataclass
class Simulator:
    proc: Proc
    url: str  # http://127.0.0.1:PORT

    def control(self, path: str, body: object | None = None) -> int:
        return http_post(f"{self.url}/_sim/{path}", json.dumps(body or {}).encode())

    def requests(self) -> dict[str, object]:
        data = json.loads(http_get(f"{self.url}/_sim/requests"))
        assert isinstance(data, dict)
        return data


@contextmanager
def simulator(
    tmp: Path,
    *,
    keys: Mapping[str, str],
    projects: int = 10,
    endpoints: int = 1,
    extra: Sequence[str] = (),
) -> Iterator[Simulator]:
    argv = [
        sys.executable,
        "-m",
        "tests.sim",
        "--port",
        "0",
        "--projects",
        str(projects),
        "--endpoints-per-project",
        str(endpoints),
        *extra,
    ]
    for name, token in keys.items():
        argv += ["--key", f"{name}={token}"]
    with process(argv, tmp / "simulator.log") as proc:
        m = wait_for_line(proc, r"listening on (http://\S+)")
        yield Simulator(proc, m.group(1))


@dataclass
class Exporter:
    proc: Proc
    url: str

    def metrics(self) -> str:
        return http_get(f"{self.url}/metrics")

    def logs(self) -> list[dict[str, object]]:
        out = []
        for line in self.proc.output().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


@contextmanager
def exporter(
    tmp: Path,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    port: int = 0,
) -> Iterator[Exporter]:
    """``python -m exporter ARGS`` on a free loopback port, JSON logs to a file."""
    port = port or free_port()
    argv = [
        sys.executable,
        "-m",
        "exporter",
        "--web.listen-address",
        f"127.0.0.1:{port}",
        "--log.format",
        "json",
        *args,
    ]
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NEON_")}
    full_env.update(env or {})
    with process(argv, tmp / f"exporter-{port}.log", env=full_env) as proc:
        wait_for_line(proc, r'"event": "listening"')
        yield Exporter(proc, f"http://127.0.0.1:{port}")


def sample(exposition: str, name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """The value of one sample in a text exposition, or None if absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in (labels or {}).items()):
                return float(s.value)
    return None
