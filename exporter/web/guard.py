"""The web configuration in force: TLS per connection, basic auth and headers, renewed on reload.

The web config file is loaded beside the configuration, not inside it: :class:`WebReload` loads
both at start and at every reload, so a reload is refused, keeping both running ones, if either
fails to load.
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio.sslproto import SSLProtocol
from collections.abc import Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..config.errors import ConfigError
from ..config.load import Config
from .config import WebConfig, load_web_config

log = structlog.get_logger("exporter.web.guard")


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


def load_web(config: Config) -> WebConfig | None:
    """The web config file ``config`` names, loaded; errors name the setting as given."""
    if config.web_config_file is None:
        return None
    try:
        return load_web_config(config.web_config_file)
    except ConfigError as exc:  # webconfig names its own fields; name the setting as written
        raise ConfigError(config.named("web_config_file"), exc.problem) from None


class WebReload:
    """Pairs each configuration a reload loads with its web config, for ``Service``.

    ``load`` (Service's) loads both files, so a bad web config refuses the reload like a bad
    config; ``apply`` (Service's ``on_reload``) hands the guard the web config loaded with the
    configuration being applied, or, when a failed reload restores the running configuration,
    the web config that was in force before it.

    The web config file's *path* is restart-only (as the reload's log line and the docs say):
    every reload re-reads the file ``started`` (the configuration the process started with)
    names, whatever path the reloaded configuration gives. A reload that dropped the path would
    otherwise turn TLS and basic auth off until the next restart.
    """

    def __init__(
        self,
        guard: WebGuard,
        web: WebConfig | None,
        load: Callable[[], Config],
        *,
        started: Config,
    ) -> None:
        self._guard, self._load, self._started = guard, load, started
        self._in_force = self._before = web
        self._loaded: tuple[Config, WebConfig | None] | None = None

    def load(self) -> Config:
        config = self._load()
        self._loaded = (config, load_web(self._started))
        return config

    def apply(self, config: Config) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is not None and loaded[0] is config:
            self._before, web = self._in_force, loaded[1]
        else:  # the running configuration, restored after a failed reload
            web = self._before
        self._guard.update(web)
        self._in_force = web
