"""Row "Deleted and shared projects": deleted projects that can still be restored and how long
for (--collector.recoverable), and projects other accounts share with the keys' accounts
(--collector.shared). Neither is among the live projects, so the project variable does not
filter them."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    RED,
    YELLOW,
    Json,
    K,
    Row,
    bargauge,
    see,
    stat,
    targets,
    thresholds,
)

DELETED = "max by (project_id, project_name) (neon_deleted_project_info)"
SHARED = "max by (project_id, project_name, permission) (neon_shared_project_info)"
RECOVERABLE = " Needs --collector.recoverable."
SHARING = " Needs --collector.shared."


def deleted() -> Json:
    return stat(
        "Deleted projects (restorable)",
        "How many deleted projects can still be restored? Neon keeps a deleted project "
        "restorable for a while (7 days), then removes it for good." + RECOVERABLE,
        targets((f"count({DELETED}) or vector(0)", "deleted"), instant=True),
        thr=thresholds((None, GREEN), (1, YELLOW)),
        w=4,
    )


def time_left() -> Json:
    return bargauge(
        "Deleted projects: time left to restore",
        "Which deleted projects are about to be gone for good? Time until each can no longer "
        "be restored (the 10 soonest). Restore one deleted by mistake before its bar runs out."
        + RECOVERABLE
        + see("NeonDeletedProjectExpiring"),
        targets(
            (
                "bottomk(10, (max by (project_id) "
                "(neon_deleted_project_recoverable_until_timestamp_seconds) - time()) "
                f"* on (project_id) group_left (project_name) {DELETED})",
                "{{project_name}} ({{project_id}})",
            ),
            instant=True,
        ),
        unit="s",
        thr=thresholds((None, RED), (86400, YELLOW), (3 * 86400, GREEN)),
        w=8,
    )


def shared_per_key() -> Json:
    return stat(
        "Shared projects per key",
        "How many projects do other accounts share with each key's account? Not counted "
        "among the account's own projects." + SHARING,
        targets((f"max by (key) (neon_shared_projects{{{K}}})", "{{key}}"), instant=True),
        text_mode="value_and_name",
        w=4,
    )


def shared_size() -> Json:
    return bargauge(
        "Largest shared projects",
        "Which shared projects are largest, and what may the account do with them? Storage "
        "size of projects shared with the keys' accounts (top 10), with the permission Neon "
        "grants (CAN_VIEW, CAN_EDIT, CAN_MANAGE; empty when it does not say)." + SHARING,
        targets(
            (
                "topk(10, max by (project_id) (neon_shared_project_size_bytes) "
                f"* on (project_id) group_left (project_name, permission) {SHARED})",
                "{{project_name}} ({{permission}})",
            ),
            instant=True,
        ),
        unit="bytes",
        w=8,
    )


def panels() -> list[Json]:
    return [deleted(), time_left(), shared_per_key(), shared_size()]


ROW = Row("Deleted and shared projects", panels)
