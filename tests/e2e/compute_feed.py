"""A stand-in for Neon's metrics export: a small exposition of compute series with the names
and labels Neon's export gives them (``neon_connection_counts``, ``neon_db_total_size``,
``neon_lfc_hits``/``_misses``, ``host_cpu_seconds_total``; ``project_id``, ``endpoint_id``,
``compute_id``), for every endpoint the exporter serves at the time of each scrape, so the
dashboard's compute row and the compute recording rules can be proven in a real Prometheus.

    with compute_feed(exporter_url) as address:   # host:port, a scrape target
        ...
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.procs import http_get

ENDPOINT = re.compile(
    r'^neon_endpoint_info\{[^}]*endpoint_id="([^"]+)"[^}]*project_id="([^"]+)"', re.M
)


def exposition(endpoints: list[tuple[str, str]], elapsed: float) -> str:
    """Compute series for these (project_id, endpoint_id): counters grow with ``elapsed``."""
    lines = [
        "# TYPE neon_connection_counts gauge",
        "# TYPE neon_db_total_size gauge",
        "# TYPE neon_lfc_hits counter",
        "# TYPE neon_lfc_misses counter",
        "# TYPE host_cpu_seconds_total counter",
    ]
    body: dict[str, list[str]] = {}
    for pid, eid in endpoints:
        seed = zlib.crc32(eid.encode())
        ids = f'project_id="{pid}",endpoint_id="{eid}",compute_id="compute-{seed % 10_000}"'
        add = body.setdefault
        for state, n in (("active", 1 + seed % 7), ("idle", seed % 5)):
            add("neon_connection_counts", []).append(
                f'neon_connection_counts{{{ids},datname="neondb",state="{state}"}} {n}'
            )
        add("neon_db_total_size", []).append(
            f'neon_db_total_size{{{ids},datname="neondb"}} {(seed % 900 + 100) * 2**20}'
        )
        hits = 1 + seed % 99
        add("neon_lfc_hits", []).append(f"neon_lfc_hits{{{ids}}} {elapsed * hits:.3f}")
        add("neon_lfc_misses", []).append(f"neon_lfc_misses{{{ids}}} {elapsed * 5:.3f}")
        busy = (seed % 100) / 100
        cpu = add("host_cpu_seconds_total", [])
        cpu.append(f'host_cpu_seconds_total{{{ids},mode="user"}} {elapsed * busy:.3f}')
        cpu.append(f'host_cpu_seconds_total{{{ids},mode="idle"}} {elapsed * (1 - busy):.3f}')
    out = []
    for header in lines:
        name = header.split()[2]
        out += [header, *body.get(name, [])]
    return "\n".join(out) + "\n"


@contextmanager
def compute_feed(exporter_url: str) -> Iterator[str]:
    """Serve the compute series of the exporter's current endpoints; yields host:port."""
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served = http_get(f"{exporter_url}/metrics")
            endpoints = sorted({(p, e) for e, p in ENDPOINT.findall(served)})
            data = exposition(endpoints, time.monotonic() - started + 1000).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
