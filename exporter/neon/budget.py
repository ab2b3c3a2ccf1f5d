"""Per-key request pacing: a token bucket plus a shared ``Retry-After`` pause."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger("exporter.neon")

MAX_BURST = 10.0
# The longest one Retry-After pauses a key: a proxy's "Retry-After: 86400" must not stop the key
# for a day with no way out but a restart. Neon's own waits are seconds.
MAX_PAUSE = 15 * 60.0


class TokenBucket:
    """Refills at ``per_minute / 60`` tokens a second with a burst of at most 10.

    So no window of any length sees more than its share of the budget plus the burst. Waiters
    queue on one FIFO lock, which keeps the order fair and the arithmetic simple. A
    ``Retry-After`` from Neon pauses every route of the key, the key probe included.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``clock`` and ``sleep`` go together: tests pass a virtual pair, so a budget of minutes
        is spent in milliseconds and the request times are exact."""
        self.rate = per_minute / 60.0
        self.capacity = min(MAX_BURST, max(1.0, self.rate))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> float:
        """Pause every request of the key for ``seconds``, at most MAX_PAUSE; returns how long
        it pauses (the caller logs and counts a capped one)."""
        seconds = min(seconds, MAX_PAUSE)
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        return seconds

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def available(self) -> float:
        """Tokens that could be spent right now (0 while paused by a ``Retry-After``)."""
        now = self._clock()
        self._refill(now)
        return 0.0 if now < self._paused_until else self._tokens

    async def wait_unpaused(self) -> None:
        """Return once no ``Retry-After`` pause holds the key (at once if none does).

        For a request that took its token before a pause began and then waited for something
        else (a concurrency slot): the token was no promise that Neon would take it now.
        """
        while True:  # a deadline, not an event: a later Retry-After may move it on
            left = self._paused_until - self._clock()
            if left <= 0:
                return
            await self._sleep(left)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._refill(now)
                if now < self._paused_until:
                    await self.wait_unpaused()
                    continue
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await self._sleep((1.0 - self._tokens) / self.rate)


def pause(
    bucket: TokenBucket, seconds: float, on_capped: Callable[[], None] | None, *, key: str
) -> None:
    """A ``Retry-After`` of ``seconds`` pauses the key's ``bucket``; one over MAX_PAUSE is
    capped, logged with both values, and counted (``on_capped``)."""
    paused = bucket.pause(seconds)
    if paused < seconds:
        log.warning("Retry-After capped", key=key, asked_seconds=seconds, paused_seconds=paused)
        if on_capped is not None:
            on_capped()
