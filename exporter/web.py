"""The HTTP side: /metrics, /healthz, /readyz (every key has had a first poll attempt, successful
or not) and a landing page (landing.py), on aiohttp.

The poller's sessions and the scheduler live in ``cleanup_ctx``, so they start with the app and
are closed with it, in-flight requests to Neon cancelled.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from asyncio.sslproto import SSLProtocol
from collections.abc import AsyncIterator

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client.exposition import choose_encoder

from .demo import DEMO_KEY_NAME
from .landing import KeyRow, page, requests_per_key
from .render import RenderError
from .service import Service
from .simulator import Simulator
from .webconfig import WebConfig

SERVICE = web.AppKey("service", Service)
SIMULATOR = web.AppKey("simulator", Simulator)
STARTED = web.AppKey("started", float)  # time.monotonic() when the app was made
WRITE_SLICE = 256 * 1024

log = structlog.get_logger("exporter.web")


async def _polling(app: web.Application) -> AsyncIterator[None]:
    service = app[SERVICE]
    await service.start()
    try:
        yield
    finally:
        await service.stop()
        service.exposition.close()


# The content types of what render.py produces (prometheus_client's defaults).
TEXT_TYPE = choose_encoder("")[1]
OPENMETRICS_TYPE = choose_encoder("application/openmetrics-text")[1]


def q_values(header: str) -> dict[str, float]:
    """An Accept-style header as {lower-cased token: q}; a token listed twice (OpenMetrics with two
    versions) keeps its highest q, and an unreadable q counts as 0 (not acceptable)."""
    out: dict[str, float] = {}
    for item in header.split(","):
        token, *params = (p.strip() for p in item.split(";"))
        if not token:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:  # also NaN
                    q = 0.0
        out[token.lower()] = max(q, out.get(token.lower(), 0.0))
    return out


def wants_gzip(accept_encoding: str) -> bool:
    """gzip when the client accepts it (q > 0) at least as much as no encoding (RFC 9110 12.5.3:
    identity is acceptable unless excluded, ``*`` stands for any coding not listed)."""
    q = q_values(accept_encoding)
    gzip_q = q.get("gzip", q.get("x-gzip", q.get("*", 0.0)))
    identity_q = q.get("identity", q.get("*", 1.0))
    return gzip_q > 0 and gzip_q >= identity_q


def wants_openmetrics(accept: str) -> bool:
    """OpenMetrics only when the client prefers it to the classic text format by q-value (the most
    specific media range applies); on a tie, or no Accept, the classic format."""
    q = q_values(accept)

    def best(kind: str, subtype: str) -> float:
        return q.get(f"{kind}/{subtype}", q.get(f"{kind}/*", q.get("*/*", 0.0)))

    openmetrics = best("application", "openmetrics-text")
    return openmetrics > 0 and openmetrics > best("text", "plain")


async def metrics(request: web.Request) -> web.StreamResponse:
    rt = request.app[SERVICE]
    openmetrics = wants_openmetrics(request.headers.get("Accept", ""))
    content_type = OPENMETRICS_TYPE if openmetrics else TEXT_TYPE
    gzipped = wants_gzip(request.headers.get("Accept-Encoding", ""))
    try:
        chunks = await rt.exposition.chunks(openmetrics=openmetrics, gzipped=gzipped)
    except RenderError:  # logged and counted where it happened; the next scrape retries
        return web.Response(status=500, text="rendering /metrics failed: see the exporter's log\n")
    # Set Content-Type as a raw header: aiohttp's content_type= refuses the ';' parameters,
    # cf. aio-libs/aiohttp#2197.
    # Vary: a cache between Prometheus and the exporter must not serve one format for another.
    resp = web.StreamResponse(
        headers={"Content-Type": content_type, "Vary": "Accept, Accept-Encoding"}
    )
    if gzipped:
        resp.headers["Content-Encoding"] = "gzip"
    resp.content_length = sum(len(c) for c in chunks)
    await resp.prepare(request)
    for chunk in chunks:
        # In slices: the transport copies whatever the socket does not take at once into its
        # own buffer, so one write of a 26 MB body would copy 26 MB per scrape; aiohttp drains
        # between slices, which keeps that buffer (and the copy) to one slice.
        view = memoryview(chunk)
        for start in range(0, len(view), WRITE_SLICE):
            await resp.write(view[start : start + WRITE_SLICE])
    await resp.write_eof()
    return resp


async def healthz(request: web.Request) -> web.Response:
    # Alive means polling too: a reload that could not even restore the running configuration
    # must not leave a process that answers ok and never polls again.
    if not request.app[SERVICE].running:
        return web.Response(status=503, text="polling is stopped\n")
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    if request.app[SERVICE].state.ready():
        return web.Response(text="ready\n")
    return web.Response(status=503, text="waiting for a first poll attempt of every key\n")


async def landing(request: web.Request) -> web.Response:
    rt = request.app[SERVICE]
    view = rt.state.view()
    spent = requests_per_key(rt.metrics.api_requests)
    now, uptime = rt.clock(), time.monotonic() - request.app[STARTED]
    rows = [
        KeyRow(key, h, view.projects_per_key.get(key), spent.get(key, 0.0), now, uptime)
        for key, h in rt.state.all_health().items()
    ]
    text = page(rows, demo=SIMULATOR in request.app)
    return web.Response(text=text, content_type="text/html")


async def demo_revoke(request: web.Request) -> web.Response:
    request.app[SIMULATOR].revoke(DEMO_KEY_NAME)
    return _back_to_landing(request, "demo key revoked")


async def demo_restore(request: web.Request) -> web.Response:
    request.app[SIMULATOR].restore(DEMO_KEY_NAME)
    return _back_to_landing(request, "demo key restored")


def _back_to_landing(request: web.Request, text: str) -> web.Response:
    # A browser's form post is sent back to the page; curl gets one line (in the 303 too).
    if _from_browser(request):
        raise web.HTTPSeeOther(location="/", text=text + "\n")
    return web.Response(text=text + "\n")


def _from_browser(request: web.Request) -> bool:
    """A form submission or a page navigation, by what browsers send with either."""
    return (
        request.headers.get("Sec-Fetch-Mode") == "navigate"
        or request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
        or q_values(request.headers.get("Accept", "")).get("text/html", 0.0) > 0
    )


async def reload(request: web.Request) -> web.Response:
    if await request.app[SERVICE].reload():
        return web.Response(text="configuration reloaded\n")
    return web.Response(status=500, text="reload failed: see the exporter's log\n")


class WebGuard:
    """The web configuration in force (TLS, basic auth, headers), renewed on reload.

    aiohttp fixes an app's middlewares when it starts, so one stable middleware hands each
    request to the current configuration's. TLS is applied per connection by
    :class:`GuardedSite`, which asks ``ssl_context`` at each accept: a reload that turns TLS on
    or off, or changes versions, ciphers, client certificates or the certificate, holds for
    every connection accepted after it. Connections accepted before it are closed (after the
    request in flight), so none keeps the old protection.
    """

    def __init__(self, config: WebConfig | None) -> None:
        self.ssl_context: ssl.SSLContext | None = None
        self._current: Middleware | None = None
        self._server: web.Server | None = None
        self.update(config)

    def update(self, config: WebConfig | None) -> None:
        had_tls = self.ssl_context is not None
        self.ssl_context = _context_of(config)
        self._current = config.middleware() if config is not None else None
        if self._server is not None and (had_tls or self.ssl_context is not None):
            connections = self._server.connections
            for handler in connections:
                handler.close()
            log.info(
                "web configuration applied to new connections",
                tls=self.ssl_context is not None,
                connections_closed=len(connections),
            )

    def protocol(self, server: web.Server) -> asyncio.BaseProtocol:
        """One accepted connection's protocol: aiohttp's handler, behind TLS if configured."""
        handler = server()
        if self.ssl_context is None:
            return handler
        # What loop.create_server(ssl=...) does per connection, with the context of now.
        return SSLProtocol(
            asyncio.get_running_loop(),
            handler,
            self.ssl_context,
            None,  # type: ignore[arg-type]  # no waiter: nobody awaits the handshake
            server_side=True,
        )

    def attach(self, server: web.Server) -> None:
        """The aiohttp server whose connections a TLS change closes."""
        self._server = server

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        transport = request.transport
        if transport is not None and transport.get_extra_info("sslcontext") is not self.ssl_context:
            # Accepted under TLS settings a reload has replaced, its handshake finishing after
            # the reload closed the older connections: no answer under the old protection.
            response = web.Response(status=503, text="TLS settings changed: reconnect\n")
            response.force_close()
            return response
        if self._current is None:
            return await handler(request)
        return await self._current(request, handler)


def _context_of(config: WebConfig | None) -> ssl.SSLContext | None:
    if config is None or config.tls is None:
        return None
    # Built when the file was loaded; a WebConfig made in code builds it now.
    return config.context or config.ssl_context()


class GuardedSite(web.BaseSite):
    """A TCP listener that takes each new connection's TLS settings from the guard."""

    __slots__ = ("_guard", "_host", "_port")

    def __init__(self, runner: web.BaseRunner, host: str | None, port: int, guard: WebGuard):
        super().__init__(runner)
        self._host, self._port, self._guard = host, port, guard

    @property
    def name(self) -> str:
        scheme = "https" if self._guard.ssl_context is not None else "http"
        return f"{scheme}://{self._host or '0.0.0.0'}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None  # BaseSite refuses a runner that is not set up
        self._guard.attach(server)
        self._server = await asyncio.get_running_loop().create_server(
            lambda: self._guard.protocol(server), self._host, self._port, backlog=self._backlog
        )


def make_app(
    service: Service, *, simulator: Simulator | None = None, guard: WebGuard | None = None
) -> web.Application:
    """The HTTP side of ``service``, which the app starts and stops."""
    guard = guard or WebGuard(service.config.web)
    app = web.Application(middlewares=[guard.middleware])
    app[SERVICE] = service
    app[STARTED] = time.monotonic()
    app.cleanup_ctx.append(_polling)
    if service.config.enable_lifecycle:
        app.router.add_post("/-/reload", reload)
    app.router.add_get("/", landing)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if simulator is not None:
        app[SIMULATOR] = simulator
        app.router.add_post("/-/demo/revoke", demo_revoke)
        app.router.add_post("/-/demo/restore", demo_restore)
    return app
