"""The registry of areas: every surface of the Neon API the exporter reads.

Config defaults, ``--[no-]collector.NAME`` flags, the poller's planning, the exposition's layout
and the docs test iterate over ``AREAS``. Adding an area is one module (see ``base.Area``) and one line
here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..exposition.family import Family
from ..exposition.store import Layout, Scope
from . import (
    account,
    advisors,
    api_keys,
    api_keys_address,
    backup_coverage,
    branch_usage,
    branches,
    deleted_branches,
    endpoints,
    operations,
    org_members_identity,
    org_security,
    projects,
    recoverable,
    shared,
    snapshots,
    spending_limit,
    usage,
    vpc_endpoints,
)
from .base import Area

AREAS: tuple[Area, ...] = (
    projects.AREA,
    endpoints.AREA,
    branches.AREA,
    usage.AREA,
    branch_usage.AREA,
    recoverable.AREA,
    shared.AREA,
    spending_limit.AREA,
    operations.AREA,
    snapshots.AREA,
    api_keys.AREA,
    api_keys_address.AREA,
    account.AREA,
    org_security.AREA,
    org_members_identity.AREA,
    vpc_endpoints.AREA,
    deleted_branches.AREA,
    backup_coverage.AREA,
    advisors.AREA,
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


def layout(names: Sequence[str], *, aggregate: bool = False) -> Layout:
    """What /metrics serves of the polled data: the areas named and the project list (always
    on), in registry order, each area's families as it declares them (its sums instead of its
    per-project families in aggregate mode), then its families of the whole view."""
    families: list[tuple[Family[Any], Scope]] = []
    on = tuple(a for a in AREAS if a.name in names or a is projects.AREA)
    for area in on:
        if aggregate:
            families += [(f, "sum") for f in area.sums]
        else:
            families += [(f, "project") for f in area.families]
        # A family two areas serve (an organization's plan) is written once.
        families += [(f, "view") for f in area.view_families if (f, "view") not in families]
    return Layout(tuple(families), areas=tuple(a.name for a in on if a.detail))


__all__ = [
    "AREAS",
    "BY_NAME",
    "COLLECTOR_DEFAULTS",
    "DETAIL_AREAS",
    "Area",
    "layout",
    "markdown",
]
