"""Parsers of single setting values: (name as the user wrote it, raw value) -> value.

Each raises :class:`ConfigError` naming the setting as given; ``settings.SETTINGS`` says which
parser reads which setting.
"""

from __future__ import annotations

import math
import re
from typing import Literal
from urllib.parse import urlsplit

from .errors import ConfigError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

LogFormat = Literal["auto", "json", "console"]
LOG_LEVELS = ("debug", "info", "warning", "error")

# Longer than any sensible interval or timeout, and far below what timedelta and the scheduler
# can hold (an absurd value is a typo to name, not a crash later).
MAX_DURATION = 365 * 86400.0


def parse_duration(setting: str, value: object) -> float:
    """Parse ``500ms``, ``30s``, ``5m``, ``1h30m`` (or a bare number of seconds) into seconds."""
    if isinstance(value, bool):
        raise ConfigError(setting, f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            text += "s"  # a bare number is seconds
        pos, seconds = 0, 0.0
        for match in _DURATION.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos != len(text) or not text:
            raise ConfigError(setting, f"not a duration (use e.g. 500ms, 30s, 5m): {text!r}")
    # YAML's .inf and .nan are floats: refuse them here, not as a crash in the scheduler.
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(setting, f"must be a finite duration greater than zero: {value!r}")
    if seconds > MAX_DURATION:
        raise ConfigError(setting, f"must be at most 365d: {value!r}")
    return seconds


def api_url(setting: str, raw: object) -> str:
    parts = urlsplit(str(raw))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(setting, f"not an http(s) URL: {raw!r}")
    return str(raw).rstrip("/")


def budget(setting: str, raw: object) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]  # anything else is the error below
    except (TypeError, ValueError):
        raise ConfigError(setting, f"not a number: {raw!r}") from None
    if isinstance(raw, bool) or not (math.isfinite(value) and value > 0):
        raise ConfigError(setting, f"must be a finite number greater than zero: {raw!r}")
    return value


def concurrency(setting: str, raw: object) -> int:
    if isinstance(raw, bool) or not str(raw).isdigit() or int(str(raw)) < 1:
        raise ConfigError(setting, f"must be a positive integer: {raw!r}")
    return int(str(raw))


def split_listen_address(
    address: str, setting: str = "--web.listen-address"
) -> tuple[str | None, int]:
    """``:10049`` -> (None, 10049) meaning every interface; ``[::1]:9`` -> ("::1", 9)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(setting, f"expected [host]:port, got {address!r}")
    host = host.strip("[]")
    return (host or None), int(port)


def listen_address(setting: str, raw: object) -> str:
    split_listen_address(str(raw), setting)
    return str(raw)


def path(setting: str, raw: object) -> str:
    """A file name; whether the file is readable and valid is for whoever loads it."""
    del setting  # any text names a file; loading it names the setting if it cannot be read
    return str(raw)


def log_level(setting: str, raw: object) -> str:
    if str(raw).lower() not in LOG_LEVELS:
        raise ConfigError(setting, f"one of {', '.join(LOG_LEVELS)}; got {raw!r}")
    return str(raw).lower()


def log_format(setting: str, raw: object) -> LogFormat:
    if raw not in ("auto", "json", "console"):
        raise ConfigError(setting, f"one of auto, json, console; got {raw!r}")
    return raw


def pattern(setting: str, raw: object) -> str:
    """A regular expression (Python's syntax, matched against the whole string, as
    Prometheus' relabelling does); kept as text so the Config stays comparable."""
    text = str(raw)
    try:
        re.compile(text)
    except re.error as exc:
        raise ConfigError(setting, f"not a regular expression: {exc}") from None
    return text


def id_list(setting: str, raw: object) -> tuple[str, ...]:
    """A comma-separated list (or a YAML list) of ids."""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    ids = tuple(str(i).strip() for i in items if str(i).strip())
    if not ids:
        raise ConfigError(setting, "an empty list")
    return ids


MetricsMode = Literal["projects", "aggregate"]


def metrics_mode(setting: str, raw: object) -> MetricsMode:
    if raw not in ("projects", "aggregate"):
        raise ConfigError(setting, f"one of projects, aggregate; got {raw!r}")
    return raw
