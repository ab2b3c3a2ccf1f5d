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
from functools import partial
from typing import Any, NoReturn, TextIO

import structlog
from aiohttp import web

from . import __version__
from .areas import COLLECTOR_DEFAULTS
from .config.errors import ConfigError
from .config.helptext import epilog
from .config.load import Config, build_config
from .config.logs import setup_logging
from .config.malloc import freeze_startup, pin_mmap_threshold
from .config.parsers import split_listen_address
from .config.settings import SETTINGS, Setting, flag_help
from .neon.errors import KeyRejected, NeonError
from .service import Service
from .simulator import Simulator
from .web.app import SERVICE, make_app
from .web.config import WebConfig
from .web.demo import add_routes, demo_api
from .web.guard import GuardedSite, WebGuard, WebReload, load_web

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
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    for setting in SETTINGS:
        _add_flags(p, setting)
    return p


def _add_flags(p: argparse.ArgumentParser, setting: Setting) -> None:
    """The flags of one setting: ``None`` when not given, so the fold can tell."""
    if setting.kind == "collectors":
        for name, default in COLLECTOR_DEFAULTS.items():
            p.add_argument(
                f"--collector.{name}",
                dest=f"collector.{name}",
                default=None,
                action=argparse.BooleanOptionalAction,
                help=f"enable the {name} collector (default {'on' if default else 'off'})",
            )
    elif setting.flag:
        action = "store_true" if setting.kind == "switch" else "store"
        p.add_argument(setting.flag, dest=setting.name, action=action, help=flag_help(setting))


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


def _load(argv: Sequence[str], env: Mapping[str, str]) -> tuple[str, Config, WebConfig | None]:
    """The command, the configuration and the web config it names (loaded beside it)."""
    args = _parser().parse_args(argv)
    flags: dict[str, Any] = vars(args)
    # With nothing configured, serving the demo beats exiting: it is what a first run wants.
    fallback = args.command == "serve" and not args.demo and _nothing_configured(flags, env)
    config = build_config(flags, env, collectors=COLLECTOR_DEFAULTS, demo=args.demo or fallback)
    if fallback:
        config = dataclasses.replace(config, warnings=(*config.warnings, DEMO_FALLBACK))
    return args.command, config, load_web(config)


def parse(argv: Sequence[str], env: Mapping[str, str]) -> tuple[str, Config]:
    """The command and the configuration; the web config file is loaded too, to check it."""
    command, config, _ = _load(argv, env)
    return command, config


def reload_config(argv: Sequence[str], env: Mapping[str, str], running: Config) -> Config:
    """The configuration a reload applies: never the demo while Neon runs, so one without keys
    is refused, and never the key of NEON_API_KEY / NEON_API_KEY_FILE while the ``running``
    keys are the file's. A ``running`` demo re-reads its settings and keeps its simulated API
    and key. The web config file is loaded beside it (``WebReload``)."""
    flags = vars(_parser().parse_args(argv))
    if running.demo:
        demo = build_config(flags, env, collectors=COLLECTOR_DEFAULTS, demo=True)
        return dataclasses.replace(demo, api_url=running.api_url, keys=running.keys)
    return build_config(
        flags, env, collectors=COLLECTOR_DEFAULTS, demo=False, env_keys=running.keys_from_env
    )


async def _serve(
    config: Config, web_config: WebConfig | None, load_config: Callable[[Config], Config]
) -> int:
    pin_mmap_threshold()
    freeze_startup()  # every module is imported by now
    async with AsyncExitStack() as stack:
        simulator: Simulator | None = None
        if config.demo:
            config, simulator = await stack.enter_async_context(demo_api(config))
        guard = WebGuard(web_config)
        # A reload is judged against the configuration running then (the service's); the web
        # configuration file's path stays the one the exporter started with.
        web_reload = WebReload(
            guard, web_config, lambda: load_config(service.config), started=config
        )
        service = Service(config, load=web_reload.load, on_reload=web_reload.apply)
        app = make_app(service, guard=guard)
        if simulator is not None:
            add_routes(app, simulator)
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
        _log_listening(config, runner, guard)
        await _until_stopped(app[SERVICE])
        log.info("shutting down")
    return EXIT_OK


def _log_listening(config: Config, runner: web.AppRunner, guard: WebGuard) -> None:
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


async def _until_stopped(service: Service) -> None:
    """Serve until SIGTERM or SIGINT; SIGHUP reloads."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[bool]] = set()  # strong references until each is done

    def on_sighup() -> None:
        task = asyncio.ensure_future(service.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_sighup)
    await stop.wait()


async def _polled_api(stack: AsyncExitStack, config: Config) -> Config:
    """The configuration to poll with: the demo's simulated API started first for --demo."""
    if config.demo:
        config, _ = await stack.enter_async_context(demo_api(config))
    return config


async def _check(config: Config, out: TextIO) -> int:
    """Probe every key and count its projects; a table on ``out``."""
    async with AsyncExitStack() as stack:
        config = await _polled_api(stack, config)
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
    """Poll every key once and write the text exposition to ``out``: the bytes ``/metrics``
    serves in the classic text format."""
    async with AsyncExitStack() as stack:
        config = await _polled_api(stack, config)
        service = Service(config)
        pollers = await stack.enter_async_context(service.pollers())
        ok = await pollers.poll_all()
    out.write(service.exposition.rendered().decode())
    return EXIT_OK if ok else EXIT_FAILED


def run(argv: Sequence[str], env: Mapping[str, str], out: TextIO = sys.stdout) -> int:
    try:
        command, config, web_config = _load(argv, env)
    except ConfigError as exc:
        sys.stderr.write(f"neon-exporter: error: {exc}\n")
        return EXIT_CONFIG
    setup_logging(config.log_level, config.log_format, demo=config.demo)
    for warning in config.warnings:
        log.warning(warning)
    if config.demo and DEMO_FALLBACK not in config.warnings:
        log.info("--demo: serving the built-in demo (a simulated Neon API, not Neon)")
    try:
        if command == "check":
            return asyncio.run(_check(config, out))
        if command == "once":
            return asyncio.run(_once(config, out))
        return asyncio.run(_serve(config, web_config, partial(reload_config, argv, env)))
    except KeyboardInterrupt:
        return EXIT_OK


def main() -> NoReturn:
    sys.exit(run(sys.argv[1:], os.environ))
