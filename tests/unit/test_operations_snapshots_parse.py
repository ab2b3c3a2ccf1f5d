"""Pure parsing and summaries of the operations and snapshots areas."""

from __future__ import annotations

import pytest

from exporter.neon.fields import ParseError
from exporter.neon.operations import MAX_FAILED, RECENT_SECONDS, parse_operations, summarize
from exporter.neon.snapshots import Snapshot, by_branch, parse_schedule, parse_snapshots

NOW = 1_800_000_000.0


def op(i: int, status: str, action: str = "start_compute", **extra: object) -> dict[str, object]:
    return {
        "id": f"op-{i}",
        "project_id": "p",
        "action": action,
        "status": status,
        "failures_count": 0,
        "created_at": "2027-01-15T08:00:00Z",
        "updated_at": "2027-01-15T08:00:05Z",
        "total_duration_ms": 5000,
        **extra,
    }


def test_operations_parse_skips_free_text_actions_and_missing_times() -> None:
    """An action that is not a plain token would be a free-text label: the item is skipped
    (counted), as is one without its times; the rest of the page counts."""
    page = {
        "operations": [
            op(1, "failed", error="anything at all"),
            op(2, "failed", action="start compute: see log"),
            op(3, "running", created_at=None),
        ]
    }
    ops, skipped = parse_operations(page)
    assert [o.id for o in ops] == ["op-1"]
    assert ops[0].error == "anything at all"
    assert skipped == 2
    with pytest.raises(ParseError):
        parse_operations({"operation": []})


def test_summary_bounds_failures_and_finds_the_oldest_in_progress() -> None:
    ops, _ = parse_operations({"operations": [op(i, "failed") for i in range(MAX_FAILED + 3)]})
    now = ops[0].updated_at + 60
    summary = summarize(ops, now)
    assert len(summary.failed) == MAX_FAILED
    assert summary.failed_by_action == (("start_compute", MAX_FAILED + 3),)
    assert summary.oldest_running is None
    assert summarize(ops, ops[0].updated_at + RECENT_SECONDS + 1).failed == ()
    mixed, _ = parse_operations(
        {
            "operations": [
                op(1, "finished", created_at="2027-01-15T07:00:00Z"),
                op(2, "cancelling", created_at="2027-01-15T07:30:00Z"),
                op(3, "scheduling"),
            ]
        }
    )
    assert summarize(mixed, now).oldest_running == mixed[1].created_at


def test_schedule_takes_the_shortest_known_frequency() -> None:
    assert parse_schedule({"schedule": []}) == (None, 0)
    data = {"schedule": [{"frequency": "daily"}, {"frequency": "hourly"}, {"frequency": "x"}]}
    assert parse_schedule(data) == (3600.0, 1)


def snap(sid: str, created: str, **extra: object) -> dict[str, object]:
    return {"id": sid, "name": sid, "created_at": created, **extra}


def test_snapshot_sizes_sum_what_neon_reports() -> None:
    day = "2027-01-1{}T08:00:00Z"
    snaps, skipped = parse_snapshots(
        {
            "snapshots": [
                snap("s1", day.format(5), source_branch_id="br-1", full_size=10),
                snap("s2", day.format(6), source_branch_id="br-1"),
                snap("s3", "not a time"),
            ]
        }
    )
    assert skipped == 1
    branch = by_branch(snaps, {"br-1": 86400.0})["br-1"]
    assert branch.count == 2
    assert branch.newest == snaps[1].created_at
    assert branch.full_size == 10
    assert branch.diff_size is None  # none reported: absent, never 0
    assert branch.schedule_interval == 86400.0
    orphan = by_branch([Snapshot("s", "", NOW, None, 3)], {})[""]
    assert orphan.schedule_interval is None
    assert orphan.diff_size == 3
