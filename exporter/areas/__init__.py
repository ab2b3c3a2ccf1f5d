"""The registry of areas: every surface of the Neon API the exporter reads.

Config defaults, ``--[no-]collector.NAME`` flags, the poller's planning, the collectors and the
docs test iterate over ``AREAS``. Adding an area is one module (see ``base.Area``) and one line
here.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from ..collectors.base import ViewSource
from ..state import View
from . import (
    api_keys,
    api_keys_address,
    branches,
    endpoints,
    operations,
    projects,
    recoverable,
    shared,
    snapshots,
    spending_limit,
    usage,
)
from .base import Area

AREAS: tuple[Area, ...] = (
    projects.AREA,
    endpoints.AREA,
    branches.AREA,
    usage.AREA,
    recoverable.AREA,
    shared.AREA,
    spending_limit.AREA,
    operations.AREA,
    snapshots.AREA,
    api_keys.AREA,
    api_keys_address.AREA,
)
BY_NAME = {a.name: a for a in AREAS}
DETAIL_AREAS = tuple(a for a in AREAS if a.switchable)
"""Every area but the project list: per-project detail and account-level areas."""
COLLECTOR_DEFAULTS = {a.name: a.default for a in DETAIL_AREAS}
"""Areas a user can switch (the project list is always on)."""


def markdown() -> str:
    """The areas table of docs/configuration.md (a test keeps the two equal)."""
    rows = ["| area | flag | default | requests | what |", "|---|---|---|---|---|"]
    for a in DETAIL_AREAS:
        on = "on" if a.default else "off"
        rows.append(f"| `{a.name}` | `--[no-]collector.{a.name}` | {on} | {a.cost} | {a.help} |")
    return "\n".join(rows) + "\n"


def rendered(names: Sequence[str]) -> tuple[Area, ...]:
    """The areas whose collectors render the snapshot part, in registry order: those named,
    and the project list, which is always on."""
    return tuple(a for a in AREAS if a.name in names or a is projects.AREA)


def snapshot_registry(view: ViewSource, *, areas: Sequence[str]) -> CollectorRegistry:
    """Every series derived from polled data, rendered from ``view()`` by the areas on."""
    registry = CollectorRegistry(auto_describe=False)
    for area in rendered(areas):
        registry.register(area.collector(view))
    return registry


def frozen_registry(view: View, *, areas: Sequence[str]) -> CollectorRegistry:
    """The snapshot series of one fixed view: safe to render on another thread or process."""
    return snapshot_registry(lambda: view, areas=areas)


__all__ = [
    "AREAS",
    "BY_NAME",
    "COLLECTOR_DEFAULTS",
    "DETAIL_AREAS",
    "Area",
    "frozen_registry",
    "markdown",
    "rendered",
    "snapshot_registry",
]
