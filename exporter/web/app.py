"""The HTTP side: /metrics, /healthz, /readyz (every key has had a first poll attempt, successful
or not), POST /-/reload and a landing page (landing.py), on aiohttp. The web config (TLS, basic
auth, headers) is applied by guard.py; the demo's routes are added by demo.py.

The poller's sessions and the scheduler live in ``cleanup_ctx``, so they start with the app and
are closed with it, in-flight requests to Neon cancelled.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import structlog
from aiohttp import web
from prometheus_client.exposition import choose_encoder

from ..exposition.serve import RenderError
from ..service import Service
from .guard import WebGuard
from .landing import KeyRow, page, requests_per_key

SERVICE = web.AppKey("service", Service)
DEMO = web.AppKey("demo", bool)  # set by demo.add_routes: the landing page shows its buttons
STARTED = web.AppKey("started", float)  # time.monotonic() when the app was made
WRITE_SLICE = 256 * 1024

log = structlog.get_logger("exporter.web.app")


async def _polling(app: web.Application) -> AsyncIterator[None]:
    service = app[SERVICE]
    await service.start()
    try:
        yield
    finally:
        await service.stop()


# The content types of what the exposition produces (prometheus_client's defaults).
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
    svc = request.app[SERVICE]
    openmetrics = wants_openmetrics(request.headers.get("Accept", ""))
    content_type = OPENMETRICS_TYPE if openmetrics else TEXT_TYPE
    gzipped = wants_gzip(request.headers.get("Accept-Encoding", ""))
    try:
        chunks = await svc.exposition.chunks(openmetrics=openmetrics, gzipped=gzipped)
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
    if request.method == "HEAD":
        # The GET's headers, Content-Length included, and no body: a client reusing the
        # connection would read a body as the next answer's status line (RFC 9110 9.3.2).
        await resp.write_eof()
        return resp
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
    svc = request.app[SERVICE]
    view = svc.state.view()
    spent = requests_per_key(svc.metrics.api_requests)
    now, uptime = svc.clock(), time.monotonic() - request.app[STARTED]
    rows = [
        KeyRow(key, h, view.projects_per_key.get(key), spent.get(key, 0.0), now, uptime)
        for key, h in svc.state.all_health().items()
    ]
    text = page(rows, demo=request.app.get(DEMO, False))
    return web.Response(text=text, content_type="text/html")


async def reload(request: web.Request) -> web.Response:
    if await request.app[SERVICE].reload():
        return web.Response(text="configuration reloaded\n")
    return web.Response(status=500, text="reload failed: see the exporter's log\n")


def make_app(service: Service, *, guard: WebGuard | None = None) -> web.Application:
    """The HTTP side of ``service``, which the app starts and stops; ``guard`` applies the web
    config (none: plain HTTP, no auth). The demo adds its routes (``demo.add_routes``)."""
    guard = guard or WebGuard(None)
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
    return app
