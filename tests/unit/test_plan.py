"""The poll's plan: a pure function of what is known, so it is tested without any I/O."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from exporter.areas import BY_NAME
from exporter.neon.models import Endpoint, Project
from exporter.plan import Memory, list_interval, plan
from exporter.state import AccountPiece, KeySnapshot

ENDPOINTS, USAGE, RECOVERABLE = BY_NAME["endpoints"], BY_NAME["usage"], BY_NAME["recoverable"]
NOW = 10_000.0


def project(pid: str, updated: str = "u1", active: str = "a1") -> Project:
    return Project(
        pid, pid, "r", "aws", "", 16, 1, updated_at=updated, compute_last_active_at=active
    )


def snapshot(
    projects: list[Project],
    fetched: dict[str, dict[str, float]],
    detail: dict[str, dict[str, Any]] | None = None,
    account: dict[str, AccountPiece] | None = None,
) -> KeySnapshot:
    return KeySnapshot(
        "prod",
        NOW,
        MappingProxyType({p.id: p for p in projects}),
        detail=detail or {},
        fetched=fetched,
        account=account or {},
    )


def test_new_then_changed_then_oldest() -> None:
    """Never fetched first, then a list entry that moved since, then by oldest detail."""
    ps = [project("old"), project("older"), project("moved", updated="u2"), project("new")]
    prev = snapshot(ps, {"endpoints": {"old": 50.0, "older": 10.0, "moved": 90.0}})
    memory = Memory(stamps={pid: ("u1", "a1") for pid in ("old", "older", "moved")})
    work = plan(prev.projects, prev, memory, [ENDPOINTS], {}, now=NOW)
    assert [pid for pid, _ in work.items] == ["new", "moved", "older", "old"]
    assert work.urgent == 2
    assert all(areas == ("endpoints",) for _, areas in work.items)


def test_last_active_moving_is_no_news_for_a_project_known_active() -> None:
    """compute_last_active_at moves all the time while a compute runs: not a change then."""
    running = Endpoint("ep", "busy", "br", "read_write", "active", None, 1, 1, 0, None)
    ps = [project("busy", active="a2"), project("quiet", active="a2")]
    prev = snapshot(
        ps,
        {"endpoints": {"busy": 1.0, "quiet": 1.0}},
        detail={"endpoints": {"busy": (running,), "quiet": ()}},
    )
    memory = Memory(stamps={"busy": ("u1", "a1"), "quiet": ("u1", "a1")})
    work = plan(prev.projects, prev, memory, [ENDPOINTS], {}, now=NOW)
    assert work.items[0][0] == "quiet"
    assert work.urgent == 1


def test_interval_area_batched_when_due_and_per_project_when_denied() -> None:
    """Usage is due only past its interval; batched 100 a request unless the batch route was
    denied within the interval, then per project beside the rotating areas."""
    ps = [project(f"p{i:03}") for i in range(250)]
    fresh = {p.id: NOW - 10 for p in ps[:50]}
    prev = snapshot(ps, {"endpoints": dict.fromkeys(fresh, 1.0), "usage": fresh})
    intervals = {"usage": 900.0}
    work = plan(prev.projects, prev, Memory(), [ENDPOINTS, USAGE], intervals, now=NOW)
    assert [len(b) for b in work.batches["usage"]] == [100, 100]
    assert all(areas == ("endpoints",) for _, areas in work.items)
    denied = Memory(denied_at={"usage": NOW - 60})
    work = plan(prev.projects, prev, denied, [ENDPOINTS, USAGE], intervals, now=NOW)
    assert "usage" not in work.batches
    by_project = dict(work.items)
    assert by_project["p000"] == ("endpoints",)
    assert by_project["p100"] == ("endpoints", "usage")
    retry = Memory(denied_at={"usage": NOW - 901})
    work = plan(prev.projects, prev, retry, [ENDPOINTS, USAGE], intervals, now=NOW)
    assert "usage" in work.batches  # tried again once the interval has passed


def test_unavailable_projects_are_not_refreshed() -> None:
    ps = [project("a"), project("b")]
    work = plan({p.id: p for p in ps}, None, Memory(), [ENDPOINTS], {}, now=NOW, skip={"b"})
    assert [pid for pid, _ in work.items] == ["a"]


def test_account_area_due_when_new_failing_or_past_its_interval() -> None:
    ps = [project("a")]
    intervals = {"recoverable": 3600.0}

    def due(piece: AccountPiece | None) -> tuple[str, ...]:
        prev = snapshot(ps, {}, account={"recoverable": piece} if piece else {})
        return plan(prev.projects, prev, Memory(), [RECOVERABLE], intervals, now=NOW).account

    assert due(None) == ("recoverable",)
    assert due(AccountPiece((), NOW - 60)) == ()
    assert due(AccountPiece((), NOW - 3600)) == ("recoverable",)
    assert due(AccountPiece((), NOW - 60, failing_since=NOW - 30)) == ("recoverable",)


def test_list_interval_keeps_the_list_to_a_tenth_of_the_budget() -> None:
    assert list_interval(1000, 300) == 6.0
    assert list_interval(10_000, 120) == 125.0


def test_operations_rotate_changed_first_and_snapshots_wait_for_their_hour() -> None:
    """Operations are spent in the rotation with the endpoints (changed projects first);
    snapshots join a project's request only once their hour has passed."""
    ops, snaps = BY_NAME["operations"], BY_NAME["snapshots"]
    ps = [project("quiet"), project("moved", updated="u2")]
    fetched = {
        "endpoints": {"quiet": 1.0, "moved": 2.0},
        "operations": {"quiet": 1.0, "moved": 2.0},
        "snapshots": {"quiet": NOW - 3600.0, "moved": NOW - 60.0},
    }
    prev = snapshot(ps, fetched)
    memory = Memory(stamps={"quiet": ("u1", "a1"), "moved": ("u1", "a1")})
    intervals = {"snapshots": snaps.interval or 0.0}
    work = plan(prev.projects, prev, memory, [ENDPOINTS, ops, snaps], intervals, now=NOW)
    assert work.items == [
        ("moved", ("endpoints", "operations")),
        ("quiet", ("endpoints", "operations", "snapshots")),
    ]
    assert work.urgent == 1
