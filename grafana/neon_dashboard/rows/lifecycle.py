"""Row "Branch lifecycle and backups": branches expiring soonest, deleted branches still
recoverable, and default branches without a backup schedule. Needs --collector.branches,
--collector.deleted_branches and --collector.backup_coverage."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    RED,
    YELLOW,
    Json,
    P,
    Row,
    bargauge,
    see,
    stat,
    targets,
    thresholds,
)

EXPIRES = f"max by (project_id, branch_id) (neon_branch_expires_timestamp_seconds{{{P}}})"
BRANCH_NAMES = f"max by (project_id, branch_id, branch_name) (neon_branch_info{{{P}}})"
DELETED = (
    "max by (project_id, branch_id, branch_name, deletion_method) "
    f"(neon_deleted_branch_info{{{P}}})"
)
UNTIL = (
    "max by (project_id, branch_id) "
    f"(neon_deleted_branch_recoverable_until_timestamp_seconds{{{P}}})"
)
SCHEDULED = f"max by (project_id, branch_id) (neon_project_default_branch_backup_scheduled{{{P}}})"


def expiring() -> Json:
    return bargauge(
        "Branches expiring soonest",
        "Which branches does Neon delete next, and when? Time left until each branch's "
        "expires_at (10 soonest). A default or protected branch here is almost always an "
        "accident: remove its expiry. Needs --collector.branches."
        + see("NeonDefaultOrProtectedBranchExpiring"),
        targets(
            (
                f"bottomk(10, ({EXPIRES} - time()) * on (project_id, branch_id) "
                f"group_left (branch_name) {BRANCH_NAMES})",
                "{{branch_name}} ({{project_id}})",
            ),
            instant=True,
        ),
        unit="s",
        thr=thresholds((None, RED), (86400, YELLOW), (7 * 86400, GREEN)),
        w=10,
    )


def deleted() -> Json:
    return bargauge(
        "Deleted branches still recoverable",
        "Which deleted branches can still be recovered, and for how long? Time left in each "
        "one's recovery window (10 nearest its end), and how it went: ttl (it expired: nobody "
        "chose to delete it) or user. Recover with POST "
        "/projects/{project_id}/branches/{branch_id}/recover. Refreshed hourly; needs "
        "--collector.deleted_branches (branch recovery is in preview at Neon).",
        targets(
            (
                f"bottomk(10, ({UNTIL} - time()) * on (project_id, branch_id) "
                f"group_left (branch_name, deletion_method) {DELETED})",
                "{{branch_name}} ({{project_id}}, {{deletion_method}})",
            ),
            instant=True,
        ),
        unit="s",
        thr=thresholds((None, RED), (86400, YELLOW), (3 * 86400, GREEN)),
        w=8,
    )


def unscheduled() -> Json:
    return stat(
        "Default branches without backups",
        "How many projects' default branch has no backup schedule (where the plan offers "
        "snapshots)? Nothing but the history window protects them. Refreshed hourly; needs "
        "--collector.backup_coverage." + see("NeonDefaultBranchNotBackedUp"),
        targets((f"count({SCHEDULED} == 0) or vector(0)", "unscheduled"), instant=True),
        thr=thresholds((None, GREEN), (1, YELLOW)),
        w=6,
    )


def panels() -> list[Json]:
    return [expiring(), deleted(), unscheduled()]


ROW = Row("Branch lifecycle and backups", panels)
