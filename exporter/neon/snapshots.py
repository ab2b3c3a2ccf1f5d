"""Snapshots and backup schedules (``GET /projects/{project_id}/snapshots``, ``GET
/projects/{project_id}/branches/{branch_id}/backup_schedule``; Beta at Neon): the models, the
parsers, and each branch's snapshots summed, as the snapshots area serves them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .fields import BadItem, opt_integer, opt_string, opt_timestamp, parse_items, string

# The period each documented frequency allows between two snapshots (a month and a year at
# their longest, so a schedule that keeps to its calendar is never late).
FREQUENCY_SECONDS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 31 * 86400.0,
    "yearly": 366 * 86400.0,
}


@dataclass(frozen=True, slots=True)
class Snapshot:
    id: str
    branch_id: str  # "" when Neon does not say which branch it was taken from
    created_at: float
    full_size: int | None  # absent until Neon has computed it
    diff_size: int | None


@dataclass(frozen=True, slots=True)
class BranchSnapshots:
    """One branch's snapshots, summed, and its schedule."""

    count: int
    newest: float  # Unix time the newest was created
    full_size: int | None  # None when no snapshot reports it
    diff_size: int | None
    schedule_interval: float | None  # shortest period of its schedule; None: no schedule


def _snapshot(item: dict[str, Any]) -> Snapshot:
    created = opt_timestamp(item, "created_at")
    if created is None:
        raise BadItem("created_at")
    return Snapshot(
        id=string(item, "id"),
        branch_id=opt_string(item, "source_branch_id"),
        created_at=created,
        full_size=opt_integer(item, "full_size"),
        diff_size=opt_integer(item, "diff_size"),
    )


def parse_snapshots(data: object) -> tuple[tuple[Snapshot, ...], int]:
    return parse_items(data, "snapshots", _snapshot)


def _frequency(item: dict[str, Any]) -> float:
    frequency = item.get("frequency")
    seconds = FREQUENCY_SECONDS.get(frequency) if isinstance(frequency, str) else None
    if seconds is None:
        raise BadItem("frequency")
    return seconds


def parse_schedule(data: object) -> tuple[float | None, int]:
    """A ``BackupSchedule``: the shortest period it allows (None: empty), items skipped."""
    periods, skipped = parse_items(data, "schedule", _frequency)
    return (min(periods) if periods else None), skipped


def _sum(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def by_branch(
    snapshots: Iterable[Snapshot], schedules: Mapping[str, float | None]
) -> dict[str, BranchSnapshots]:
    groups: dict[str, list[Snapshot]] = {}
    for s in snapshots:
        groups.setdefault(s.branch_id, []).append(s)
    return {
        bid: BranchSnapshots(
            count=len(group),
            newest=max(s.created_at for s in group),
            full_size=_sum(s.full_size for s in group),
            diff_size=_sum(s.diff_size for s in group),
            schedule_interval=schedules.get(bid),
        )
        for bid, group in groups.items()
    }
