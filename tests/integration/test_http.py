"""The HTTP surface an operator meets: the landing page, the demo's buttons, /metrics content
negotiation. The exporter app on a loopback socket, polling a simulated Neon."""

from __future__ import annotations

import asyncio
import gzip
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from exporter.config.load import KeyConfig, KeySource
from exporter.poll.state import KeyHealth
from exporter.service import Service
from exporter.web.app import make_app
from exporter.web.demo import DEMO_KEY_NAME, add_routes
from exporter.web.landing import KeyRow, key_table
from tests.procs import sample
from tests.sim import Simulator
from tests.support import make_config

TOKEN = "demo-" + "c" * 40
# What Prometheus 2.x sends when scraping (scrape/scrape.go, acceptHeader for OpenMetrics).
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;"
    "version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
# A browser submitting one of the landing page's forms, as browsers and harnesses send it.
BROWSER_FORMS = [
    {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Sec-Fetch-Mode": "navigate",
    },
    {"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"},
    {"Sec-Fetch-Mode": "navigate", "Accept": "*/*"},
]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.parts.append(data)


def page_text(html: str) -> str:
    """What a reader of the page sees: the text without tags, whitespace collapsed."""
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
async def demo_url(tmp_path: Path) -> AsyncIterator[str]:
    """The exporter as ``--demo`` wires it (the simulator's demo key, its buttons), polled once."""
    sim = Simulator(keys={DEMO_KEY_NAME: TOKEN}, projects=3, endpoints_per_project=2, seed=5)
    api = TestServer(sim.make_app(), host="127.0.0.1")
    await api.start_server()
    key = KeyConfig(name=DEMO_KEY_NAME, source=KeySource(value=TOKEN))
    svc = Service(make_config(str(api.make_url("/api/v2")), (key,)))
    app = make_app(svc)
    add_routes(app, sim)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/")).rstrip("/")
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                async with session.get(f"{url}/readyz") as resp:
                    if resp.status == 200 and svc.state.health(DEMO_KEY_NAME).poll_success:
                        break
                await asyncio.sleep(0.05)
            else:
                raise TimeoutError("the demo key was not polled")
        yield url
    finally:
        await server.close()
        await api.close()


async def fetch(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.request(method, url, headers=headers, allow_redirects=False) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


async def test_landing_page_text(demo_url: str) -> None:
    """The page's text shows the demo's metric with single braces, /readyz as a first poll
    *attempt*, and per key the last poll, its duration, detail age and requests against budget."""
    status, _, body = await fetch(f"{demo_url}/")
    assert status == 200
    text = page_text(body.decode())
    assert 'neon_api_key_valid{key="demo"}' in text
    assert "{{" not in text
    assert "every key has had its first poll attempt (successful or not)" in text
    headings = (
        "key accepted by Neon last poll error areas projects detail data age requests to Neon"
    )
    assert headings in text
    row = text.split(headings, 1)[1]
    assert re.match(
        r"demo yes ok at \d\d:\d\d:\d\d UTC \(\d+ s ago\), took \d+\.\d\d s - "
        r"projects ok \d+\.\d\ds, endpoints ok \d+\.\d\ds 3 "
        r"endpoints: oldest \d+ s ago \d+ since start, \d+/min on average, budget 60000/min ",
        row.lstrip(),
    ), row
    assert TOKEN not in text


async def test_demo_buttons_return_a_browser_to_the_landing_page(demo_url: str) -> None:
    """A browser's form post gets 303 to / (with the line as body); curl gets the line."""
    for action in ("revoke", "restore"):
        line = f"demo key {action}d\n".encode()
        for form in BROWSER_FORMS:
            status, headers, body = await fetch(
                f"{demo_url}/-/demo/{action}", method="POST", headers=form
            )
            assert (status, headers.get("Location"), body) == (303, "/", line), (action, form)
        status, _, body = await fetch(f"{demo_url}/-/demo/{action}", method="POST")
        assert (status, body) == (200, line)


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("gzip;q=0, identity", False),
        ("gzip;q=0", False),
        ("identity;q=1, gzip;q=0.5", False),
        ("identity;q=0.5, gzip;q=1", True),
        ("*;q=0.5", True),
        ("*;q=0", False),
        ("", False),
    ],
)
async def test_accept_encoding_q_values(demo_url: str, accept_encoding: str, gzipped: bool) -> None:
    """gzip only where the client accepts it (q > 0) and prefers it to identity; Vary is set."""
    status, headers, body = await fetch(
        f"{demo_url}/metrics", headers={"Accept-Encoding": accept_encoding}
    )
    assert status == 200
    assert (headers.get("Content-Encoding") == "gzip") is gzipped
    text = (gzip.decompress(body) if gzipped else body).decode()
    assert sample(text, "neon_projects", {"key": DEMO_KEY_NAME}) == 3
    assert headers["Vary"] == "Accept, Accept-Encoding"


@pytest.mark.parametrize(
    ("accept", "openmetrics"),
    [
        (PROMETHEUS_ACCEPT, True),
        ("application/openmetrics-text; version=1.0.0", True),
        ("text/plain;q=1, application/openmetrics-text;q=0.1", False),
        ("application/openmetrics-text;q=0, text/plain", False),
        ("application/openmetrics-text;q=0.9, text/plain;q=0.5", True),
        ("*/*", False),
        ("", False),
    ],
)
async def test_accept_q_values(demo_url: str, accept: str, openmetrics: bool) -> None:
    """OpenMetrics only where the client prefers it by q-value; else the classic text format."""
    status, headers, body = await fetch(
        f"{demo_url}/metrics", headers={"Accept": accept, "Accept-Encoding": "identity"}
    )
    assert status == 200
    assert headers["Content-Type"].startswith(
        "application/openmetrics-text" if openmetrics else "text/plain"
    )
    assert body.endswith(b"# EOF\n") is openmetrics
    assert headers["Vary"] == "Accept, Accept-Encoding"


def test_key_table_shows_the_last_poll_error() -> None:
    """A failed poll's error is in the row, as the log says it."""
    health = KeyHealth(valid=True, poll_success=False, last_error="/projects: HTTP 503")
    text = page_text(key_table([KeyRow("prod", health, 1, 0.0, now=0.0, uptime=1.0)]))
    assert "/projects: HTTP 503" in text


def test_key_table_shows_a_failed_poll_and_a_rejected_key() -> None:
    """The per-key cells of a key whose last poll failed after Neon rejected it."""
    health = KeyHealth(
        valid=False,
        last_rejected=1_000_000.0,
        poll_attempted=True,
        poll_success=False,
        last_success=999_000.0,
        poll_duration=2.5,
        budget_per_minute=300.0,
        details={"endpoints": (998_000.0, 4)},
        areas={"projects": False, "endpoints": True},
    )
    row = KeyRow("prod", health, None, 600.0, now=1_000_060.0, uptime=1200.0)
    text = page_text(key_table([row]))
    assert text == (
        "key accepted by Neon last poll error areas projects detail data age requests to Neon "
        "prod no failed (took 2.50 s); last success: 13:30:00 UTC (18 min ago) "
        "key rejected by Neon (401) at 13:46:40 UTC (60 s ago) "
        "projects FAILING, endpoints ok - "
        "endpoints: oldest 34 min ago, 4 projects without "
        "600 since start, 30/min on average, budget 300/min"
    )


async def _read_response(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str]]:
    """One response's status line and headers off a raw connection (its body left unread)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)}
    return status.encode(), headers


async def test_head_metrics_sends_headers_only_on_a_kept_alive_connection(demo_url: str) -> None:
    """HEAD /metrics answers the GET's headers and no body: the GET that follows on the same
    keep-alive connection reads its own status line, not the HEAD's metrics."""
    host, port = demo_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for method in ("HEAD", "GET"):
            writer.write(f"{method} /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        head_status, head_headers = await _read_response(reader)
        get_status, get_headers = await _read_response(reader)
        body = await asyncio.wait_for(
            reader.readexactly(int(get_headers["content-length"])), timeout=5
        )
    finally:
        writer.close()
    assert head_status == get_status == b"HTTP/1.1 200 OK"
    assert head_headers["content-type"] == get_headers["content-type"]
    assert b"neon_project_info" in body
