"""Flags, environment and subcommands. The only module that exits the process."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any, NoReturn, TextIO

import structlog
from aiohttp import web

from . import __version__
from .config import COLLECTOR_DEFAULTS, Config, ConfigError, build_config, split_listen_address
from .demo import demo_api
from .logs import setup_logging
from .memory import pin_mmap_threshold
from .neon.errors import KeyRejected, NeonError
from .service import Service
from .simulator import Simulator
from .web import SERVICE, GuardedSite, WebGuard, make_app

log = structlog.get_logger("exporter")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line naming the problem, like every other configuration error.
        self.exit(EXIT_CONFIG, f"neon-exporter: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="neon-exporter",
        description="Prometheus exporter for the Neon serverless Postgres control plane.",
    )
    p.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=("serve", "check", "once"),
        help="serve (default) metrics over HTTP; check each key once and print a table; "
        "once: poll once and print the exposition (for node_exporter's textfile collector)",
    )
    p.add_argument("--version", action="version", version=f"neon-exporter {__version__}")
    p.add_argument(
        "--demo",
        action="store_true",
        help="run against a built-in simulated Neon API (no key needed)",
    )
    flag = p.add_argument
    flag("--config.file", dest="config_file", help="YAML config (env NEON_EXPORTER_CONFIG)")
    flag(
        "--web.listen-address",
        dest="listen_address",
        help="address to serve on, default :10049 (env NEON_EXPORTER_LISTEN_ADDRESS)",
    )
    flag(
        "--web.config.file",
        dest="web_config_file",
        help="TLS, basic auth and headers in the exporter-toolkit format "
        "(docs/web-configuration.md)",
    )
    flag(
        "--neon.api-url",
        dest="api_url",
        help="Neon API base URL, default https://console.neon.tech/api/v2 (env NEON_API_URL)",
    )
    flag(
        "--neon.max-requests-per-minute",
        dest="max_requests_per_minute",
        help="request budget per key, default 300 (Neon allows 700 per account)",
    )
    flag(
        "--neon.max-concurrency",
        dest="max_concurrency",
        help="requests in flight per key, default 8",
    )
    flag("--neon.timeout", dest="request_timeout", help="per-request timeout, default 10s")
    flag("--poll.interval", dest="poll_interval", help="time between polls, default 60s")
    flag(
        "--poll.max-age",
        dest="poll_max_age",
        help="drop a failing key's last data after this, default 10m",
    )
    flag(
        "--key-check.interval",
        dest="key_check_interval",
        help="time between cheap key probes, default 30s",
    )
    flag("--log.level", dest="log_level", help="debug, info (default), warning, error")
    flag("--log.format", dest="log_format", help="auto (default), json, console")
    flag(
        "--collector.usage.interval",
        dest="usage_interval",
        help="how often usage is refreshed, default 15m (Neon updates it about that often)",
    )
    p.add_argument(
        "--web.enable-lifecycle",
        dest="enable_lifecycle",
        action="store_true",
        help="allow POST /-/reload (SIGHUP always reloads)",
    )
    for name, default in COLLECTOR_DEFAULTS.items():
        flag(
            f"--collector.{name}",
            dest=f"collector.{name}",
            default=None,
            action=argparse.BooleanOptionalAction,
            help=f"enable the {name} collector (default {'on' if default else 'off'})",
        )
    return p


DEMO_FALLBACK = (
    "no API key and no config file: serving the built-in demo (a simulated Neon API, not Neon); "
    "set NEON_API_KEY or --config.file to poll Neon"
)


def _nothing_configured(flags: Mapping[str, Any], env: Mapping[str, str]) -> bool:
    """No config file and no key variable. A key variable set but empty counts as configured:
    it is a mistake to name, not a first run to answer with the demo."""
    return not (
        flags.get("config_file")
        or env.get("NEON_EXPORTER_CONFIG")
        or "NEON_API_KEY" in env
        or "NEON_API_KEY_FILE" in env
    )


def parse(argv: Sequence[str], env: Mapping[str, str]) -> tuple[str, Config]:
    args = _parser().parse_args(argv)
    flags: dict[str, Any] = vars(args)
    # With nothing configured, serving the demo beats exiting: it is what a first run wants.
    fallback = args.command == "serve" and not args.demo and _nothing_configured(flags, env)
    config = build_config(flags, env, demo=args.demo or fallback)
    if fallback:
        config = dataclasses.replace(config, warnings=(*config.warnings, DEMO_FALLBACK))
    return args.command, config


def reload_config(argv: Sequence[str], env: Mapping[str, str]) -> Config:
    """The configuration a reload applies: never the demo, so one without keys is refused."""
    return build_config(vars(_parser().parse_args(argv)), env, demo=False)


async def _serve(config: Config, load_config: Callable[[], Config]) -> int:
    pin_mmap_threshold()
    async with AsyncExitStack() as stack:
        simulator: Simulator | None = None
        if config.demo:
            config, simulator = await stack.enter_async_context(demo_api(config))
        guard = WebGuard(config.web)
        service = Service(
            config,
            load=None if config.demo else load_config,
            on_reload=lambda new: guard.update(new.web),
        )
        app = make_app(service, simulator=simulator, guard=guard)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=2.0,
        )
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        host, port = split_listen_address(config.listen_address)
        site = GuardedSite(runner, host, port, guard)  # TLS per connection, renewed on reload
        try:
            await site.start()
        except OSError as exc:
            log.error("cannot listen", address=config.listen_address, error=exc.strerror)
            return EXIT_FAILED
        scheme = "https" if guard.ssl_context is not None else "http"
        addresses = [
            f"{scheme}://[{a[0]}]:{a[1]}" if ":" in a[0] else f"{scheme}://{a[0]}:{a[1]}"
            for a in runner.addresses
        ]
        log.info(
            "listening",
            addresses=addresses or [config.listen_address],
            keys=[k.name for k in config.keys],
            api_url=config.api_url,
            demo=config.demo,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        reloads: set[asyncio.Task[bool]] = set()  # strong references until each is done

        def on_sighup() -> None:
            task = asyncio.ensure_future(app[SERVICE].reload())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, on_sighup)
        await stop.wait()
        log.info("shutting down")
    return EXIT_OK


async def _check(config: Config, out: TextIO) -> int:
    """Probe every key and count its projects; a table on ``out``."""
    async with AsyncExitStack() as stack:
        if config.demo:
            config, _ = await stack.enter_async_context(demo_api(config))
        pollers = await stack.enter_async_context(Service(config).pollers())

        async def one(name: str) -> tuple[str, str, str, str]:
            client = pollers[name].client
            try:
                await client.probe()
                count = 0
                async for page in client.project_pages():
                    count += len(page.projects)
            except KeyRejected as exc:
                return name, "rejected", "-", str(exc)
            except NeonError as exc:
                return name, "error", "-", str(exc)
            return name, "valid", str(count), ""

        rows = await asyncio.gather(*(one(k.name) for k in config.keys))
    table = [("KEY", "STATUS", "PROJECTS", "DETAIL"), *rows]
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    for r in table:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + f"  {r[3]}\n")
    return EXIT_OK if all(r[1] == "valid" for r in rows) else EXIT_FAILED


async def _once(config: Config, out: TextIO) -> int:
    """Poll every key once and write the text exposition to ``out``."""
    from prometheus_client import generate_latest

    async with AsyncExitStack() as stack:
        if config.demo:
            config, _ = await stack.enter_async_context(demo_api(config))
        service = Service(config)
        pollers = await stack.enter_async_context(service.pollers())
        ok = await pollers.poll_all()
    out.write(generate_latest(service.metrics.registry).decode())
    return EXIT_OK if ok else EXIT_FAILED


def run(argv: Sequence[str], env: Mapping[str, str], out: TextIO = sys.stdout) -> int:
    try:
        command, config = parse(argv, env)
    except ConfigError as exc:
        sys.stderr.write(f"neon-exporter: error: {exc}\n")
        return EXIT_CONFIG
    setup_logging(config.log_level, config.log_format)
    for warning in config.warnings:
        log.warning(warning)
    if config.demo and DEMO_FALLBACK not in config.warnings:
        log.info("--demo: serving the built-in demo (a simulated Neon API, not Neon)")
    try:
        if command == "check":
            return asyncio.run(_check(config, out))
        if command == "once":
            return asyncio.run(_once(config, out))
        return asyncio.run(_serve(config, lambda: reload_config(argv, env)))
    except KeyboardInterrupt:
        return EXIT_OK


def main() -> NoReturn:
    sys.exit(run(sys.argv[1:], os.environ))
