"""Row "Snapshots": overdue snapshots by backup schedule, snapshot storage, and the age of each
branch's newest snapshot. Needs --collector.snapshots."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    RED,
    Json,
    P,
    Row,
    bargauge,
    see,
    stat,
    targets,
    thresholds,
)

NEEDS = " Refreshed hourly; needs --collector.snapshots."


def per_branch(metric: str) -> str:
    return f"max by (project_id, branch_id) ({metric}{{{P}}})"


NEWEST = per_branch("neon_branch_snapshot_newest_timestamp_seconds")
INTERVAL = per_branch("neon_branch_backup_schedule_interval_seconds")


def overdue() -> Json:
    return stat(
        "Branches with an overdue snapshot",
        "How many branches' newest snapshot is older than their backup schedule allows (one "
        "period plus 2 hours)? Their scheduled snapshots are not being taken."
        + NEEDS
        + see("NeonSnapshotOverdue"),
        targets(
            (
                f"count(time() - {NEWEST} > on (project_id, branch_id) {INTERVAL} + 7200) "
                "or vector(0)",
                "overdue",
            ),
            instant=True,
        ),
        thr=thresholds((None, GREEN), (1, RED)),
        w=6,
    )


def storage() -> Json:
    return stat(
        "Snapshot storage",
        "How much do the selected projects' snapshots hold? Full logical sizes and "
        "incremental sizes, each summed over the snapshots Neon has computed them for. "
        "Snapshot storage is billed (snapshot_storage_bytes_month)." + NEEDS,
        targets(
            (f"sum({per_branch('neon_branch_snapshot_full_size_bytes')}) or vector(0)", "full"),
            (
                f"sum({per_branch('neon_branch_snapshot_diff_size_bytes')}) or vector(0)",
                "incremental",
            ),
            instant=True,
        ),
        unit="bytes",
        text_mode="value_and_name",
        w=6,
    )


def newest_age() -> Json:
    return bargauge(
        "Oldest newest snapshots",
        "Which branches have gone longest without a snapshot? Age of each branch's newest "
        "snapshot (top 10). Compare with the branch's backup schedule: hourly, daily, "
        "weekly." + NEEDS,
        targets(
            (f"topk(10, time() - {NEWEST})", "{{branch_id}} ({{project_id}})"),
            instant=True,
        ),
        unit="s",
        w=12,
    )


def panels() -> list[Json]:
    return [overdue(), storage(), newest_age()]


ROW = Row("Snapshots", panels)
