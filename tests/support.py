"""Shared test data: the simulator's keys, key files, and a config pointed at a simulator."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from exporter.config import Config, KeyConfig, KeySource

KEYS = {"prod": "prod-" + "a" * 40, "staging": "staging-" + "b" * 40}


def key_files(tmp_path: Path, names: tuple[str, ...] = ("prod",)) -> tuple[KeyConfig, ...]:
    keys = []
    for name in names:
        path = tmp_path / f"{name}.key"
        path.write_text(KEYS[name] + "\n")
        path.chmod(0o600)
        keys.append(KeyConfig(name=name, source=KeySource(file=str(path))))
    return tuple(keys)


def make_config(url: str, keys: tuple[KeyConfig, ...], **changes: object) -> Config:
    base = Config(
        api_url=url,
        keys=keys,
        max_requests_per_minute=60_000,  # tests are not about pacing unless they say so
        request_timeout=2.0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def assert_within_budget(times: list[float], *, per_second: float, burst: float) -> None:
    """No window [times[i], times[j]] holds more requests than the burst plus its share of the
    budget (a small slack for the clock read on the other side of the socket)."""
    times = sorted(times)
    for i, first in enumerate(times):
        for j in range(i, len(times)):
            window = times[j] - first
            assert j - i + 1 <= burst + per_second * (window + 0.05), (i, j, window)
