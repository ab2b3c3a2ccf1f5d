"""The poll's plan: a pure function of what is known, so it is tested without any I/O."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from exporter.areas import BY_NAME
from exporter.neon.models import Endpoint, Project
from exporter.poll.plan import BatchKey, Memory, denial, list_interval, plan
from exporter.poll.state import AccountPiece, PollResult

ENDPOINTS, USAGE, RECOVERABLE = BY_NAME["endpoints"], BY_NAME["usage"], BY_NAME["recoverable"]
NOW = 10_000.0
V2, LEGACY = "/consumption_history/v2/projects", "/consumption_history/projects"


def project(pid: str, updated: str = "u1", active: str = "a1", org: str = "") -> Project:
    return Project(
        pid, pid, "r", "aws", org, 16, 1, updated_at=updated, compute_last_active_at=active
    )


def snapshot(
    projects: list[Project],
    fetched: dict[str, dict[str, float]],
    detail: dict[str, dict[str, Any]] | None = None,
    account: dict[str, AccountPiece] | None = None,
) -> PollResult:
    return PollResult(
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
    # Projects of no organization: the legacy route (v2 needs an org_id).
    assert [len(b) for b in work.batches[BatchKey("usage", LEGACY, "")]] == [100, 100]
    assert all(areas == ("endpoints",) for _, areas in work.items)
    denied = Memory(denied_at={LEGACY: NOW - 60})
    work = plan(prev.projects, prev, denied, [ENDPOINTS, USAGE], intervals, now=NOW)
    assert not work.batches
    by_project = dict(work.items)
    assert by_project["p000"] == ("endpoints",)
    assert by_project["p100"] == ("endpoints", "usage")
    retry = Memory(denied_at={LEGACY: NOW - 901})
    work = plan(prev.projects, prev, retry, [ENDPOINTS, USAGE], intervals, now=NOW)
    assert BatchKey("usage", LEGACY, "") in work.batches  # tried again past the interval


def test_usage_routes_best_first_per_organization() -> None:
    """Projects of an organization go to v2 first, grouped by organization; a route denied to
    one organization sends its projects to the next route, and the others stay; past the
    interval the better route is tried again."""
    ps = [project(f"a{i:03}", org="org-a") for i in range(150)]
    ps += [project("b1", org="org-b"), project("none")]
    prev = snapshot(ps, {})
    intervals = {"usage": 900.0}

    def routes(memory: Memory) -> dict[BatchKey, list[int]]:
        work = plan(prev.projects, prev, memory, [USAGE], intervals, now=NOW)
        return {k: [len(b) for b in v] for k, v in work.batches.items()}

    assert routes(Memory()) == {
        BatchKey("usage", V2, "org-a"): [100, 50],
        BatchKey("usage", V2, "org-b"): [1],
        BatchKey("usage", LEGACY, ""): [1],
    }
    legacy_a = Memory(denied_at={denial(V2, "org-a"): NOW - 60})
    assert routes(legacy_a) == {
        BatchKey("usage", LEGACY, "org-a"): [100, 50],
        BatchKey("usage", V2, "org-b"): [1],
        BatchKey("usage", LEGACY, ""): [1],
    }
    neither_a = Memory(denied_at={denial(V2, "org-a"): NOW - 60, denial(LEGACY, "org-a"): NOW - 60})
    work = plan(prev.projects, prev, neither_a, [USAGE], intervals, now=NOW)
    assert {pid for pid, _ in work.items} == {p.id for p in ps[:150]}  # per project
    retried = Memory(denied_at={denial(V2, "org-a"): NOW - 900, denial(LEGACY, "org-a"): NOW - 60})
    assert BatchKey("usage", V2, "org-a") in routes(retried)


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
    intervals = {"snapshots": 3600.0}  # the default of --collector.snapshots.interval
    work = plan(prev.projects, prev, memory, [ENDPOINTS, ops, snaps], intervals, now=NOW)
    assert work.items == [
        ("moved", ("endpoints", "operations")),
        ("quiet", ("endpoints", "operations", "snapshots")),
    ]
    assert work.urgent == 1
