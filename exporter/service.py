"""The running exporter: state, metrics, client sessions, one poller per key, the scheduler,
and reload.

A reload (SIGHUP, or ``POST /-/reload`` with ``--web.enable-lifecycle``) re-reads the
configuration and restarts polling with it. The state survives: keys that stay keep their data,
health and planning memory; removed keys vanish, added keys start empty. A configuration that
does not load is logged and the running one is kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from functools import partial

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .areas import DETAIL_AREAS, Area, layout
from .config.errors import ConfigError
from .config.load import RESTART_ONLY, Config
from .exposition.own import Metrics, build_metrics
from .exposition.serve import Exposition
from .neon.budget import TokenBucket
from .neon.client import NeonClient
from .neon.http import new_session
from .poll.plan import Memory, poll_deadline, poll_jitter, slice_seconds
from .poll.poller import KeyPoller
from .poll.selection import Selection
from .poll.state import State

log = structlog.get_logger("exporter.service")


class Pollers(Mapping[str, KeyPoller]):
    """The pollers of every key, by key name, with their clients open."""

    def __init__(self, pollers: dict[str, KeyPoller]) -> None:
        self._pollers = pollers

    def __getitem__(self, key: str) -> KeyPoller:
        return self._pollers[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._pollers)

    def __len__(self) -> int:
        return len(self._pollers)

    async def poll(self, key: str) -> bool:
        return await self._pollers[key].poll()

    async def check_key(self, key: str) -> None:
        await self._pollers[key].check_key()

    async def poll_all(self) -> bool:
        """Poll every key once, concurrently (the ``once`` command). True if all succeeded."""
        results = await asyncio.gather(*(p.poll() for p in self._pollers.values()))
        return all(results)


class Service:
    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        load: Callable[[], Config] | None = None,
        on_reload: Callable[[Config], None] | None = None,
    ) -> None:
        """``clock`` is wall time for data ages (tests pass a fake one). ``load`` re-reads the
        configuration (None refuses reloads); ``on_reload`` is told of each configuration
        applied (the web side re-reads its TLS and auth settings)."""
        self.config = config
        self.clock = clock
        self.state = State(keys=_names(config), max_age=config.poll_max_age, clock=clock)
        self.metrics: Metrics = build_metrics()
        self.metrics.record_config_load(success=True, at=clock())  # it starts from a loaded one
        on = tuple(a.name for a in _areas_on(config))
        self.exposition = Exposition(
            self.state, self.metrics, layout(on, aggregate=config.metrics_mode == "aggregate")
        )
        self._memory: dict[str, Memory] = {}  # per key, across reloads and poller sessions
        self._load = load
        self._on_reload = on_reload
        self._running: AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def pollers(self, *, slice_seconds: float | None = None) -> AsyncIterator[Pollers]:
        """A poller per key, whose clients (one ``ClientSession`` per key) close on exit.

        ``slice_seconds``: how long a poll refreshes detail before carrying the rest over;
        None refreshes all of it every poll (``once``)."""
        config = self.config
        areas = _areas_on(config)
        intervals = {a.name: t for a in areas if (t := _interval(a, config)) is not None}
        deadline = poll_deadline(
            poll_interval=config.poll_interval, poll_max_age=config.poll_max_age
        )
        selection = Selection.of(
            config.projects_include, config.projects_exclude, config.projects_org_ids
        )
        async with AsyncExitStack() as stack:
            pollers: dict[str, KeyPoller] = {}
            for key in config.keys:
                session = await stack.enter_async_context(new_session(config.request_timeout))
                client = NeonClient(
                    key_name=key.name,
                    secret=key.source.get,
                    org_id=key.org_id,
                    base_url=config.api_url,
                    session=session,
                    bucket=TokenBucket(config.max_requests_per_minute),
                    max_concurrency=config.max_concurrency,
                    on_request=partial(self.metrics.count_request, key.name),
                    on_skipped=partial(self.metrics.count_skipped, key.name),
                    on_cursor_repeat=partial(self.metrics.count_cursor_repeat, key.name),
                    on_pause_capped=partial(self.metrics.count_capped_pause, key.name),
                )
                pollers[key.name] = KeyPoller(
                    client,
                    self.state,
                    areas=areas,
                    intervals=intervals,
                    memory=self._memory.setdefault(key.name, Memory()),
                    selection=selection,
                    key_file_read_at=partial(getattr, key.source, "read_at"),
                    clock=self.clock,
                    deadline=deadline,
                    slice_seconds=slice_seconds,
                )
            yield Pollers(pollers)

    async def start(self) -> None:
        """Schedule a poll job and a key-check job per key, both first run at start-up."""
        stack = AsyncExitStack()
        interval = self.config.poll_interval
        pollers = await stack.enter_async_context(
            self.pollers(slice_seconds=slice_seconds(interval))
        )
        scheduler = AsyncIOScheduler(timezone="UTC")
        now = datetime.now().astimezone()
        check = self.config.key_check_interval
        for i, poller in enumerate(pollers.values()):
            # Stagger keys a little so several keys do not hit Neon in the same instant.
            first = now + timedelta(seconds=0.2 * i)
            for job, every, jitter in (
                (poller.poll, interval, poll_jitter(interval)),
                (poller.check_key, check, min(2.0, check / 10)),
            ):
                scheduler.add_job(
                    _until_cancelled,
                    "interval",
                    args=[job, poller.key],
                    seconds=every,
                    id=f"{job.__name__}:{poller.key}",
                    name=f"{job.__name__}:{poller.key}",
                    next_run_time=first,
                    jitter=jitter,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=max(1, int(every)),
                )
        scheduler.start()
        # wait=False cancels jobs still running, so stopping never waits on Neon.
        stack.callback(scheduler.shutdown, wait=False)
        self._running = stack

    async def stop(self) -> None:
        if self._running is not None:
            stack, self._running = self._running, None
            await stack.aclose()
            await asyncio.sleep(0)  # let the cancelled jobs unwind before sessions are gone

    @property
    def running(self) -> bool:
        """True while the pollers and their scheduler are started."""
        return self._running is not None

    def reconfigure(self, config: Config) -> None:
        """Adopt a reloaded config; settings in RESTART_ONLY keep their old values."""
        kept = {name: getattr(self.config, name) for name in RESTART_ONLY}
        self.config = dataclasses.replace(config, **kept)
        self.state.set_keys(_names(config))
        self.state.max_age = config.poll_max_age
        for gone in set(self._memory) - set(_names(config)):
            del self._memory[gone]

    async def reload(self) -> bool:
        """Re-read the configuration and apply it; False (and a log line) if it is bad.

        Either way ``neon_exporter_config_last_reload_successful`` tells, as Prometheus does."""
        async with self._lock:
            ok = await self._reload()
            self.metrics.record_config_load(success=ok, at=self.clock())
            return ok

    async def _reload(self) -> bool:
        if self._load is None:
            log.warning("reload ignored: no configuration to re-read")
            return False
        try:
            new = self._load()
            # The loader refuses these; never swap Neon for nothing, nor the demo for Neon.
            if not new.keys or new.demo != self.config.demo:
                raise ConfigError("keys", "no API key configured")
        except ConfigError as exc:
            log.error("reload failed, keeping the running configuration", error=str(exc))
            return False
        old = self.config
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
        removed = sorted(set(_names(old)) - set(_names(new)))
        for key in removed:  # only now: a failed reload restores them, counters and all
            self.metrics.forget_key(key)
        log.info(
            "configuration reloaded",
            keys=list(_names(self.config)),
            added=sorted(set(_names(new)) - set(_names(old))),
            removed=removed,
        )
        return True

    async def _apply(self, config: Config) -> None:
        # The web side first: it is the likeliest to refuse, and then the state is untouched
        # (keys dropped by set_keys would come back empty).
        if self._on_reload is not None:
            self._on_reload(config)
        self.reconfigure(config)
        await self.start()


def _interval(area: Area, config: Config) -> float | None:
    """The area's own refresh interval from the config (None: every rotation)."""
    setting = area.interval_setting
    return None if setting is None else float(getattr(config, setting))


def _names(config: Config) -> tuple[str, ...]:
    return tuple(k.name for k in config.keys)


def _areas_on(config: Config) -> list[Area]:
    """The switchable areas the configuration turns on (the project list is always on)."""
    return [a for a in DETAIL_AREAS if config.collector(a.name, a.default)]


async def _until_cancelled(job: Callable[[], Awaitable[object]], key: str) -> None:
    """Run a scheduled job; a job cancelled at shutdown or reload ends quietly.

    APScheduler cancels running jobs on ``shutdown(wait=False)`` and would log the
    CancelledError as a failed job, with a traceback, on every clean exit.
    """
    try:
        await job()
    except asyncio.CancelledError:
        log.debug("job cancelled", job=getattr(job, "__name__", "?"), key=key)
