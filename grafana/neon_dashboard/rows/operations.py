"""Row "Operations": recent failed Neon operations and operations stuck in progress.
Needs --collector.operations."""

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

NEEDS = (
    " From each project's latest 100 operations, refreshed in the rotation; needs "
    "--collector.operations."
)
FAILED = f"max by (project_id, action) (neon_project_operations_failed{{{P}}})"
OLDEST = f"max by (project_id) (neon_project_operation_oldest_running_timestamp_seconds{{{P}}})"


def failed_total() -> Json:
    return stat(
        "Failed operations (24 h)",
        "How many Neon operations of the selected projects failed in the last 24 hours? A "
        "failed start_compute means connections failed; a failed apply_config, a setting "
        "that was not applied. Neon's error text is in the exporter's log."
        + NEEDS
        + see("NeonOperationFailed"),
        targets((f"sum({FAILED}) or vector(0)", "failed"), instant=True),
        thr=thresholds((None, GREEN), (1, YELLOW)),
        w=6,
    )


def stuck() -> Json:
    return stat(
        "Operations in progress over 1 h",
        "How many projects have an operation in progress (scheduling, running, retrying "
        "after an error, cancelling) for more than an hour? Neon runs a project's "
        "operations one after another, so a stuck one holds up every change."
        + NEEDS
        + see("NeonOperationStuck"),
        targets((f"count(time() - {OLDEST} > 3600) or vector(0)", "stuck"), instant=True),
        thr=thresholds((None, GREEN), (1, RED)),
        w=6,
    )


def by_action() -> Json:
    return bargauge(
        "Failed operations by action (24 h)",
        "Which kinds of operation fail? Failures of the last 24 hours by action, over the "
        "selected projects; (none) when nothing failed." + NEEDS,
        targets(
            (
                f"sum by (action) ({FAILED}) "
                'or on () label_replace(vector(0), "action", "(none)", "", "")',
                "{{action}}",
            ),
            instant=True,
        ),
        thr=thresholds((None, GREEN), (1, YELLOW)),
        w=12,
    )


def panels() -> list[Json]:
    return [failed_total(), stuck(), by_action()]


ROW = Row("Operations", panels)
