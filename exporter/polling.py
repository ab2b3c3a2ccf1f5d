"""The running half of ``serve``: sessions, poller and scheduler, restartable on reload.

A reload (SIGHUP, or ``POST /-/reload`` with ``--web.enable-lifecycle``) re-reads the
configuration and restarts polling with it. The state survives: keys that stay keep their data
and health, removed keys vanish, added keys start empty. A configuration that does not load is
logged and the running one is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .config import RESTART_ONLY, Config, ConfigError
from .runtime import Runtime

log = structlog.get_logger("exporter.polling")


class Polling:
    def __init__(
        self,
        runtime: Runtime,
        *,
        load: Callable[[], Config] | None = None,
        on_reload: Callable[[Config], None] | None = None,
    ) -> None:
        """``load`` re-reads the configuration (None refuses reloads); ``on_reload`` is told of
        each configuration applied (the web side re-reads its TLS and auth settings)."""
        self.runtime = runtime
        self._load = load
        self._on_reload = on_reload
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        rt = self.runtime
        stack = AsyncExitStack()
        poller = await stack.enter_async_context(rt.poller())
        scheduler = AsyncIOScheduler(timezone="UTC")
        poller.schedule(
            scheduler,
            poll_interval=rt.config.poll_interval,
            key_check_interval=rt.config.key_check_interval,
        )
        scheduler.start()
        # wait=False cancels jobs still running, so stopping never waits on Neon.
        stack.callback(scheduler.shutdown, wait=False)
        self._stack = stack

    async def stop(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()
            await asyncio.sleep(0)  # let the cancelled jobs unwind before sessions are gone

    @property
    def running(self) -> bool:
        """True while the poller and its scheduler are started."""
        return self._stack is not None

    async def reload(self) -> bool:
        """Re-read the configuration and apply it; False (and a log line) if it is bad.

        Either way ``neon_exporter_config_last_reload_successful`` tells, as Prometheus does."""
        async with self._lock:
            ok = await self._reload()
            self.runtime.metrics.record_config_load(success=ok, at=self.runtime.clock())
            return ok

    async def _reload(self) -> bool:
        if self._load is None:
            log.warning("reload ignored: the demo's configuration is built in")
            return False
        try:
            new = self._load()
            if not new.keys or new.demo:  # the loader refuses these; never swap Neon for nothing
                raise ConfigError("keys", "no API key configured")
        except ConfigError as exc:
            log.error("reload failed, keeping the running configuration", error=str(exc))
            return False
        old = self.runtime.config
        for name in RESTART_ONLY:
            if getattr(old, name) != getattr(new, name):
                log.warning("setting changed but needs a restart", setting=name)
        await self.stop()
        try:
            await self._apply(new)
        except Exception as exc:  # whatever failed, polling must not stay stopped
            log.error(
                "reload failed, restoring the running configuration",
                error=f"{type(exc).__name__}: {exc}",
            )
            await self.stop()  # whatever part of the new configuration started
            await self._apply(old)
            return False
        log.info(
            "configuration reloaded",
            keys=[k.name for k in self.runtime.config.keys],
            added=sorted({k.name for k in new.keys} - {k.name for k in old.keys}),
            removed=sorted({k.name for k in old.keys} - {k.name for k in new.keys}),
        )
        return True

    async def _apply(self, config: Config) -> None:
        # The web side first: it is the likeliest to refuse, and then the state is untouched
        # (keys dropped by set_keys would come back empty).
        if self._on_reload is not None:
            self._on_reload(config)
        self.runtime.reconfigure(config)
        await self.start()
