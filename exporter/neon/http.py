"""HTTP plumbing of the Neon client: its session, and ``Retry-After`` as seconds."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import aiohttp

from .. import __version__

USER_AGENT = f"neon-exporter/{__version__}"


def new_session(timeout: float) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        timeout=aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0)),
        raise_for_status=False,
    )


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
