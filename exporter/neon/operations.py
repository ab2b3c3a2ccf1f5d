"""Operations (``GET /projects/{project_id}/operations``): the model of one operation, its
parser, and the bounded summary of a project's latest page that the operations area serves."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .fields import BadItem, opt_timestamp, parse_items, string

RECENT_SECONDS = 86400.0  # a failed operation is served for a day after its last update
MAX_FAILED = 10  # failed operations served per project, the newest
FAILED = "failed"
IN_PROGRESS = frozenset({"scheduling", "running", "error", "cancelling"})
# Neon's action is an enum; an answer with anything but a plain token there is not used as a
# label value (it would be free text).
_ACTION = re.compile(r"^[a-z0-9_]{1,64}$")


@dataclass(frozen=True, slots=True)
class Operation:
    id: str
    action: str
    status: str
    created_at: float
    updated_at: float
    error: str


@dataclass(frozen=True, slots=True)
class FailedOperation:
    id: str
    action: str
    at: float  # Unix time of its last update: when it failed


@dataclass(frozen=True, slots=True)
class Operations:
    """What one project's latest page of operations says."""

    failed: tuple[FailedOperation, ...]  # recent, newest first, at most MAX_FAILED
    failed_by_action: tuple[tuple[str, int], ...]  # recent failures counted by action
    oldest_running: float | None  # creation time of the oldest in progress; None if none


def _operation(item: dict[str, Any]) -> Operation:
    action = string(item, "action")
    if not _ACTION.match(action):
        raise BadItem("action")
    created, updated = opt_timestamp(item, "created_at"), opt_timestamp(item, "updated_at")
    if created is None or updated is None:
        raise BadItem("created_at")
    error = item.get("error")
    return Operation(
        id=string(item, "id"),
        action=action,
        status=string(item, "status"),
        created_at=created,
        updated_at=updated,
        error=error if isinstance(error, str) else "",
    )


def parse_operations(data: object) -> tuple[tuple[Operation, ...], int]:
    """One page of ``ListOperations``; malformed items are skipped and counted."""
    return parse_items(data, "operations", _operation)


def summarize(operations: Iterable[Operation], now: float) -> Operations:
    """The bounded summary served: recent failures and the oldest operation in progress."""
    ops = list(operations)
    recent = sorted(
        (o for o in ops if o.status == FAILED and now - o.updated_at <= RECENT_SECONDS),
        key=lambda o: (-o.updated_at, o.id),
    )
    by_action = Counter(o.action for o in recent)
    running = [o.created_at for o in ops if o.status in IN_PROGRESS]
    return Operations(
        failed=tuple(FailedOperation(o.id, o.action, o.updated_at) for o in recent[:MAX_FAILED]),
        failed_by_action=tuple(sorted(by_action.items())),
        oldest_running=min(running) if running else None,
    )
