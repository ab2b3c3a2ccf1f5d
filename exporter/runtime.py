"""Wiring shared by every command: clients per key, state, metrics, poller."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial

import structlog

from .collectors import Metrics, build_metrics
from .config import RESTART_ONLY, Config
from .neon.budget import TokenBucket
from .neon.client import NeonClient, new_session
from .poller import Details, Poller, poll_deadline
from .render import Exposition
from .state import State

log = structlog.get_logger("exporter")


@dataclass(slots=True)
class Runtime:
    config: Config
    state: State
    metrics: Metrics
    exposition: Exposition
    clock: Callable[[], float] = time.time

    @classmethod
    def create(cls, config: Config, *, clock: Callable[[], float] = time.time) -> Runtime:
        """``clock`` is wall time for snapshot ages; tests pass a fake one."""
        state = State(
            keys=tuple(k.name for k in config.keys), max_age=config.poll_max_age, clock=clock
        )
        metrics = build_metrics(state, endpoints=config.collector("endpoints"))
        metrics.record_config_load(success=True, at=clock())  # a Runtime starts from a loaded one
        return cls(config, state, metrics, Exposition(state, metrics), clock)

    def reconfigure(self, config: Config) -> None:
        """Adopt a reloaded config; settings in RESTART_ONLY keep their old values."""
        kept = {name: getattr(self.config, name) for name in RESTART_ONLY}
        self.config = dataclasses.replace(config, **kept)
        self.state.set_keys(tuple(k.name for k in config.keys))
        self.state.max_age = config.poll_max_age

    @asynccontextmanager
    async def poller(self) -> AsyncIterator[Poller]:
        """A poller whose clients (one ``ClientSession`` per key) are closed on exit."""
        async with AsyncExitStack() as stack:
            clients: dict[str, NeonClient] = {}
            for key in self.config.keys:
                session = await stack.enter_async_context(new_session(self.config.request_timeout))
                clients[key.name] = NeonClient(
                    key=key,
                    base_url=self.config.api_url,
                    session=session,
                    bucket=TokenBucket(self.config.max_requests_per_minute),
                    max_concurrency=self.config.max_concurrency,
                    on_request=partial(self.metrics.count_request, key.name),
                    on_skipped=partial(self.metrics.count_skipped, key.name),
                )
            yield Poller(
                clients=clients,
                state=self.state,
                details=Details(
                    endpoints=self.config.collector("endpoints"),
                    branches=self.config.collector("branches"),
                    usage=self.config.collector("usage"),
                    usage_interval=self.config.usage_interval,
                ),
                clock=self.clock,
                deadline=poll_deadline(
                    poll_interval=self.config.poll_interval,
                    poll_max_age=self.config.poll_max_age,
                ),
            )
