"""The fault matrix: every way the Neon API (or what stands between it and us) can misbehave.

Each case polls once successfully, then polls into the fault and checks what users rely on: the
poll returns False and never raises, the last good data is still served and flagged (poll_success
0, last-success time unchanged), ``neon_api_key_valid`` stays 1, the exposition still renders, and
one clear log line says what went wrong, without the key.

Faults the simulator expresses are injected into it; the rest are made by ``Front``, a small
real server in front of the simulator that forwards every request unless told to misbehave.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from exporter.config.logs import setup_logging
from exporter.neon.client import MAX_BODY_BYTES, MAX_PAGES, PAGE_LIMIT
from exporter.service import Pollers, Service
from tests.sim import Fault, Simulator
from tests.support import KEYS, families, key_files, make_config, quick_retries, value

FaultFn = Callable[[web.Request], Awaitable[web.StreamResponse | None]]


class Front:
    """Forwards to the simulator; ``fault`` (if set) answers first, or returns None to forward."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.fault: FaultFn | None = None
        self.requests: list[str] = []
        self._session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        if self.fault is not None:
            answer = await self.fault(request)
            if answer is not None:
                return answer
        assert self._session is not None
        headers = {"Authorization": request.headers.get("Authorization", "")}
        async with self._session.get(self.upstream + request.path_qs, headers=headers) as up:
            return web.Response(
                status=up.status, body=await up.read(), content_type=up.content_type
            )

    async def start(self) -> TestServer:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        return server

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


@pytest.fixture
async def front(sim: Simulator) -> AsyncIterator[tuple[Front, str]]:
    sim_server = TestServer(sim.make_app(), host="127.0.0.1")
    await sim_server.start_server()
    f = Front(str(sim_server.make_url("")).rstrip("/"))
    server = await f.start()
    try:
        yield f, str(server.make_url("/api/v2"))
    finally:
        await server.close()
        await f.close()
        await sim_server.close()


async def fails_keeping_last_data(
    svc: Service, poller: Pollers, capsys: pytest.CaptureFixture[str], expect_in_log: str
) -> None:
    """Poll into the fault and check everything users rely on."""
    before = set(svc.state.view().projects)
    last_success = value(svc, "neon_exporter_poll_last_success_timestamp_seconds", key="prod")
    capsys.readouterr()
    assert await poller.poll("prod") is False
    err = capsys.readouterr().err
    assert set(svc.state.view().projects) == before
    assert value(svc, "neon_projects", key="prod") == len(before)
    assert value(svc, "neon_exporter_poll_success", key="prod") == 0
    assert (
        value(svc, "neon_exporter_poll_last_success_timestamp_seconds", key="prod") == last_success
    )
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    assert b"neon_project_info" in svc.exposition.rendered()
    failed = [json.loads(line) for line in err.splitlines() if '"poll failed' in line]
    assert len(failed) == 1, err
    assert failed[0]["event"] == "poll failed", err  # not "poll failed unexpectedly" (a bug)
    assert failed[0]["key"] == "prod"
    assert expect_in_log in failed[0]["error"], failed[0]
    assert KEYS["prod"] not in err
    assert "Traceback" not in err


# -- faults made by the front server ------------------------------------------------------------


async def reset_mid_body(request: web.Request) -> web.StreamResponse:
    """Headers and part of the body, then a TCP reset."""
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.content_length = 100_000
    await resp.prepare(request)
    await resp.write(b'{"projects": [' + b" " * 4096)
    transport = request.transport
    assert transport is not None
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # with SO_LINGER 0: RST, not FIN
    return resp


async def endless_chunked_body(request: web.Request) -> web.StreamResponse:
    """A chunked body (no Content-Length) that goes on past the cap."""
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    chunk = b" " * (1 << 20)
    try:
        await resp.write(b'{"projects": [')
        for _ in range(MAX_BODY_BYTES // len(chunk) + 8):
            await resp.write(chunk)
    except (ConnectionError, aiohttp.ClientConnectionResetError):
        pass  # the client hung up at the cap, as it should
    return resp


def full_page(cursor: str) -> web.Response:
    # A full page of items the parser skips: it counts as full, so the client asks for more.
    body = {"projects": [0] * PAGE_LIMIT, "pagination": {"cursor": cursor}}
    return web.json_response(body)


async def repeating_cursor(request: web.Request) -> web.StreamResponse | None:
    if request.path.endswith("/projects"):
        return full_page("always-the-same")
    return None


async def never_ending_cursor(request: web.Request) -> web.StreamResponse | None:
    if request.path.endswith("/projects"):
        n = int(request.query.get("cursor", "c0")[1:])
        return full_page(f"c{n + 1}")
    return None


FRONT_FAULTS: list[tuple[str, FaultFn, str]] = [
    ("reset-mid-body", reset_mid_body, "Response payload is not completed"),
    ("chunked-body-over-cap", endless_chunked_body, f"body over the {MAX_BODY_BYTES} byte cap"),
    ("repeated-cursor", repeating_cursor, "pagination cursor repeats"),
    ("cursor-never-ends", never_ending_cursor, f"more than {MAX_PAGES} pages"),
]


@pytest.mark.parametrize(
    ("fault", "expect"), [f[1:] for f in FRONT_FAULTS], ids=[f[0] for f in FRONT_FAULTS]
)
async def test_transport_and_paging_faults(
    front: tuple[Front, str],
    service_for: Callable[..., Service],
    capsys: pytest.CaptureFixture[str],
    fault: FaultFn,
    expect: str,
) -> None:
    """Resets, endless bodies and endless cursors fail the poll cleanly, keeping last data."""
    setup_logging("info", "json")
    f, url = front
    svc = service_for(url)
    async with svc.pollers() as poller:
        quick_retries(poller)
        assert await poller.poll("prod")
        f.fault = fault
        await fails_keeping_last_data(svc, poller, capsys, expect)
        await poller.check_key("prod")  # the /auth probe still answers
    assert value(svc, "neon_api_key_valid", key="prod") == 1


async def test_cursor_cap_counts_requests(
    front: tuple[Front, str], service_for: Callable[..., Service]
) -> None:
    """A cursor that never ends stops after MAX_PAGES list requests, not one more."""
    f, url = front
    svc = service_for(url)
    f.fault = never_ending_cursor
    async with svc.pollers() as poller:
        assert not await poller.poll("prod")
    assert f.requests.count("/api/v2/projects") == MAX_PAGES


# -- faults the simulator expresses --------------------------------------------------------------

HTML = b"<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
SIM_FAULTS: list[tuple[str, Fault, str]] = [
    ("truncated-json", Fault(body=b'{"projects": [{"id": "a"', times=None), "body is not JSON"),
    (
        "declared-body-over-cap",
        Fault(body=b'{"projects": [' + b" " * MAX_BODY_BYTES + b"]}", times=None),
        f"over the {MAX_BODY_BYTES} byte cap",
    ),
    (
        "wrong-content-type",
        Fault(body=b"OK", content_type="text/plain", times=None),
        "body is not JSON (Content-Type text/plain",
    ),
    (
        "html-502-from-proxy",
        Fault(status=502, body=HTML, content_type="text/html", times=None),
        "HTTP 502",
    ),
    (
        "html-200-from-captive-proxy",
        Fault(body=HTML, content_type="text/html", times=None),
        "body is not JSON (Content-Type text/html",
    ),
    (
        "json-of-wrong-shape",
        Fault(body=b'["not", "a", "page"]', times=None),
        "expected a JSON object",
    ),
]


@pytest.mark.parametrize(
    ("fault", "expect"), [f[1:] for f in SIM_FAULTS], ids=[f[0] for f in SIM_FAULTS]
)
async def test_body_faults(
    sim: Simulator,
    sim_url: str,
    service_for: Callable[..., Service],
    capsys: pytest.CaptureFixture[str],
    fault: Fault,
    expect: str,
) -> None:
    """Truncated, oversized, mislabelled and proxy-made bodies fail the poll, keeping last data."""
    setup_logging("info", "json")
    svc = service_for(sim_url)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        sim.inject(fault)
        await fails_keeping_last_data(svc, poller, capsys, expect)


async def test_truncated_endpoints_fail_their_area_not_the_poll(
    sim: Simulator,
    sim_url: str,
    service_for: Callable[..., Service],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Truncated endpoint bodies: the poll succeeds with every project, the endpoints keep their
    last data, and the area says it is failing (in the log and in collector_success)."""
    setup_logging("info", "json")
    svc = service_for(sim_url)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        endpoints = dict(svc.state.view().of("endpoints"))
        sim.inject(
            Fault(body=b'{"endpoints": [', route="/projects/{project_id}/endpoints", times=None)
        )
        capsys.readouterr()
        assert await poller.poll("prod")
    err = capsys.readouterr().err
    assert dict(svc.state.view().of("endpoints")) == endpoints
    assert value(svc, "neon_exporter_poll_success", key="prod") == 1
    assert value(svc, "neon_exporter_collector_success", key="prod", collector="endpoints") == 0
    failed = [json.loads(line) for line in err.splitlines() if "collector failed" in line]
    assert len(failed) == 1, err
    assert failed[0]["collector"] == "endpoints"
    assert "/projects/{project_id}/endpoints: body is not JSON" in failed[0]["error"]
    assert KEYS["prod"] not in err
    assert "Traceback" not in err


async def test_json_with_a_wrong_content_type_is_accepted(
    sim: Simulator, sim_url: str, service_for: Callable[..., Service]
) -> None:
    """A valid JSON page labelled text/plain is used: the body, not the label, decides."""
    page = {"projects": [], "pagination": {"cursor": "x"}}
    sim.inject(Fault(body=json.dumps(page).encode(), content_type="text/plain", route="/projects"))
    svc = service_for(sim_url)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert value(svc, "neon_projects", key="prod") == 0


async def test_a_body_that_stalls_is_counted_once_as_a_timeout(
    sim: Simulator, sim_url: str, service_for: Callable[..., Service]
) -> None:
    """A 200 whose body stops coming past the request timeout is one request, counted as
    ``timeout`` only: the status line alone is not an answer."""
    svc = service_for(sim_url, request_timeout=1.0)
    sim.inject(Fault(route="/projects", stall=30.0))
    async with svc.pollers() as poller:
        assert not await poller.poll("prod")
    counted = [
        (s.labels["code"], s.value)
        for m in families(svc)
        for s in m.samples
        if s.name == "neon_exporter_api_requests_total" and s.labels["route"] == "/projects"
    ]
    assert counted == [("timeout", 1.0)]


# -- pages that repeat or lose projects -----------------------------------------------------------


async def test_repeated_project_ids_are_counted_once(
    sim: Simulator, front: tuple[Front, str], service_for: Callable[..., Service]
) -> None:
    """A full page repeating the same five projects yields five projects, one series each, and
    one endpoint request each."""
    f, url = front
    real = sim.project_ids()

    async def repeating(request: web.Request) -> web.StreamResponse | None:
        if not request.path.endswith("/projects") or "cursor" in request.query:
            return None
        async with (
            aiohttp.ClientSession() as s,
            s.get(
                f.upstream + request.path_qs,
                headers={"Authorization": request.headers["Authorization"]},
            ) as up,
        ):
            items = (await up.json())["projects"]
        body = {
            "projects": [items[i % len(items)] for i in range(PAGE_LIMIT)],
            "pagination": {"cursor": max(real)},  # page 2 (from the simulator) is empty
        }
        return web.json_response(body)

    f.fault = repeating
    svc = service_for(url)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    assert set(svc.state.view().projects) == set(real)
    assert value(svc, "neon_projects", key="prod") == len(real)
    assert sim.count("/projects/{project_id}/endpoints") == len(real)
    info = [s for m in families(svc) for s in m.samples if s.name == "neon_project_info"]
    assert sorted(s.labels["project_id"] for s in info) == sorted(real)


async def test_projects_vanishing_between_pages(
    sim: Simulator, front: tuple[Front, str], service_for: Callable[..., Service]
) -> None:
    """Projects deleted while the list is being paged (one already listed, one not yet) are
    absent afterwards, and the poll still succeeds."""
    f, url = front
    for _ in range(PAGE_LIMIT):
        sim.add_project(endpoints=1)
    ids = sim.project_ids()
    listed_then_deleted, never_listed = ids[0], ids[-1]

    async def delete_between_pages(request: web.Request) -> web.StreamResponse | None:
        if request.path.endswith("/projects") and "cursor" in request.query:
            for pid in (listed_then_deleted, never_listed):
                if pid in sim.project_ids():
                    sim.remove_project(pid)
        return None

    f.fault = delete_between_pages
    svc = service_for(url)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
    seen = set(svc.state.view().projects)
    assert seen == set(ids) - {listed_then_deleted, never_listed}
    assert value(svc, "neon_projects", key="prod") == len(ids) - 2
    assert value(svc, "neon_project_info", project_id=listed_then_deleted) is None


# -- slow upstream: the poll's overall deadline -------------------------------------------------


async def test_slow_upstream_hits_the_poll_deadline(
    sim: Simulator, sim_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every request slower than the poll deadline but within its own timeout: the poll fails at
    the deadline (poll.max-age minus poll.interval), while the last data is still served."""
    setup_logging("info", "json")
    config = make_config(
        sim_url, key_files(tmp_path), poll_interval=2.0, poll_max_age=6.0, request_timeout=30.0
    )
    svc = Service(config)
    async with svc.pollers() as poller:
        assert poller["prod"].deadline == 4.0
        assert await poller.poll("prod")
        sim.inject(Fault(delay=20.0, times=None))
        await fails_keeping_last_data(svc, poller, capsys, "poll deadline of 4s exceeded")
    assert value(svc, "neon_exporter_poll_duration_seconds", key="prod") < 20.0  # type: ignore[operator]


def test_default_deadline_from_config() -> None:
    """Defaults (60s interval, 10m max age) give a 9-minute deadline; never below the interval."""
    from exporter.poll.plan import poll_deadline

    assert poll_deadline(poll_interval=60, poll_max_age=600) == 540
    assert poll_deadline(poll_interval=60, poll_max_age=60) == 60


# -- name resolution and TLS to the API --------------------------------------------------------


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not-neon")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "self.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "self.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "self.pem", tmp_path / "self.key")
    return ctx


async def test_dns_failure(
    sim_url: str, service_for: Callable[..., Service], capsys: pytest.CaptureFixture[str]
) -> None:
    """An API host that stops resolving fails the poll with the host in the log line."""
    setup_logging("info", "json")
    svc = service_for(sim_url)
    async with svc.pollers() as poller:
        assert await poller.poll("prod")
        # The same client, now pointed at a name that cannot resolve (RFC 2606 .invalid).
        poller["prod"].client.base_url = "http://neon.invalid/api/v2"
        await fails_keeping_last_data(svc, poller, capsys, "neon.invalid")
        await poller.check_key("prod")
    assert value(svc, "neon_api_key_valid", key="prod") == 1
    assert (
        value(svc, "neon_exporter_api_requests_total", key="prod", route="/projects", code="error")
        == 1
    )


async def test_tls_failure_to_the_api(
    sim: Simulator,
    sim_url: str,
    service_for: Callable[..., Service],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """An https API whose certificate does not verify fails the poll: nothing is sent to it
    unverified, and the log line says it was the certificate."""
    setup_logging("info", "json")
    impostor = TestServer(sim.make_app(), host="127.0.0.1")
    await impostor.start_server(ssl=_self_signed(tmp_path))
    before = len(sim.requests)
    svc = service_for(sim_url)
    try:
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
            before = len(sim.requests)
            poller["prod"].client.base_url = f"https://127.0.0.1:{impostor.port}/api/v2"
            await fails_keeping_last_data(svc, poller, capsys, "certificate verify failed")
    finally:
        await impostor.close()
    assert len(sim.requests) == before  # the key never reached the impostor


def client_tasks() -> list[asyncio.Task[object]]:
    """Tasks of this loop but the in-process servers' connection handlers."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.get_coro().__qualname__.startswith("RequestHandler")  # type: ignore[union-attr]
    ]


async def test_many_faulty_polls_in_a_row_leave_no_tasks(
    sim: Simulator, sim_url: str, service_for: Callable[..., Service]
) -> None:
    """Twenty faulty polls (mixed faults; the endpoint fault fails only its area) leave no
    stray tasks behind and the next poll works."""
    svc = service_for(sim_url)
    faults: list[Callable[[], Fault]] = [
        lambda: Fault(body=b"{"),
        lambda: Fault(status=500),
        lambda: Fault(body=b"<html>", content_type="text/html"),
        lambda: Fault(body=b"{", route="/projects/{project_id}/endpoints"),
    ]
    async with svc.pollers() as poller:
        quick_retries(poller)
        baseline = len(client_tasks())
        for i in range(20):
            sim.inject(faults[i % len(faults)]())
            assert await poller.poll("prod") is (i % len(faults) == 3)
        assert len(client_tasks()) == baseline
        assert await poller.poll("prod")
