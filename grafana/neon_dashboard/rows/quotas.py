"""Row "Quotas and maintenance": how close projects are to their quotas (Neon suspends their
computes at 100%), scheduled maintenance, and history retention. From the project list (free);
compute time and written data against their quotas need --collector.usage, logical size needs
--collector.branches. Maintenance start times are also a dashboard annotation."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    PROJECT_LEGEND,
    PROJECT_NAMES,
    RED,
    YELLOW,
    Json,
    P,
    Row,
    bargauge,
    named,
    see,
    stat,
    targets,
    thresholds,
)

QUOTAS = (
    "active_time_seconds",
    "compute_time_seconds",
    "written_data_bytes",
    "data_transfer_bytes",
    "logical_size_bytes",
)
# Usage this period against each quota, as the NeonProjectNearQuota alert reads it.
USED = {
    "active_time": "neon_project_period_active_time_seconds",
    "compute_time": "neon_project_compute_time_seconds",
    "written_data": "neon_project_written_data_bytes",
    "logical_size": "neon_branch_logical_size_bytes",
}


def _share(quota: str, used: str) -> str:
    limit = f"max by (project_id) (neon_project_quota_{quota}_{used.rsplit('_', 1)[1]}{{{P}}})"
    usage = f"max by (project_id) ({used}{{{P}}})"  # logical size: the largest branch
    return f'label_replace({usage} / {limit}, "quota", "{quota}", "", "")'


SHARE = " or ".join(_share(q, used) for q, used in USED.items())
RETENTION = f"max by (project_id) (neon_project_history_retention_seconds{{{P}}})"
MAINTENANCE = f"max by (project_id) (neon_project_maintenance_starts_timestamp_seconds{{{P}}})"


def with_quota() -> Json:
    any_quota = " or ".join(f"neon_project_quota_{q}{{{P}}}" for q in QUOTAS)
    count = f"count by (project_id) ({any_quota})"
    return stat(
        "Projects with a quota",
        "How many of the selected projects have at least one quota (settings.quota)? Neon "
        "suspends a project's computes when it reaches one, until the billing period ends "
        "or the quota is raised; a zero quota is unlimited and not counted.",
        targets((f"count({count}) or vector(0)", "projects"), instant=True),
        w=4,
    )


def nearest() -> Json:
    return bargauge(
        "Nearest to a quota",
        "Which projects are closest to suspension? Usage this billing period as a share of "
        "each quota (top 10). Active time is from the project list; compute time and "
        "written data need --collector.usage, logical size (per branch, the largest) "
        "--collector.branches; data transfer is not shown (consumption history lacks it)."
        + see("NeonProjectNearQuota"),
        targets(
            (
                f"topk(10, ({SHARE}) * on (project_id) group_left (project_name) {PROJECT_NAMES})",
                "{{project_name}}: {{quota}}",
            ),
            instant=True,
        ),
        unit="percentunit",
        thr=thresholds((None, GREEN), (0.75, YELLOW), (0.9, RED)),
        w=10,
    )


def maintenance() -> Json:
    return stat(
        "Projects with maintenance scheduled",
        "How many of the selected projects have Neon maintenance ahead "
        "(maintenance_starts_at)? Their computes restart when it starts; the start times "
        "are marked on the graphs by the 'Neon maintenance' annotation (widen the time range "
        "into the future to see them)." + see("NeonProjectMaintenanceSoon"),
        targets((f"count({MAINTENANCE} > time()) or vector(0)", "projects"), instant=True),
        thr=thresholds((None, GREEN), (1, YELLOW)),
        w=4,
    )


def retention() -> Json:
    return bargauge(
        "Shortest history retention",
        "How far back can the selected projects restore a branch? History retention per "
        "project (the 10 shortest). A short window limits point-in-time restore; a long one "
        "costs history storage.",
        targets(
            (
                f"bottomk(10, {named(RETENTION)})",
                PROJECT_LEGEND,
            ),
            instant=True,
        ),
        unit="s",
        w=6,
    )


def panels() -> list[Json]:
    return [with_quota(), nearest(), maintenance(), retention()]


ROW = Row("Quotas and maintenance", panels)


def maintenance_annotation() -> Json:
    """The 'Neon maintenance' annotation: one marker per project at its maintenance start (the
    sample's value, in milliseconds, is the time: useValueForTime)."""
    return {
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "enable": True,
        "hide": False,
        "iconColor": "orange",
        "name": "Neon maintenance",
        "expr": f"{MAINTENANCE} * on (project_id) group_left (project_name) {PROJECT_NAMES} * 1000",
        "step": "5m",
        "useValueForTime": True,
        "titleFormat": "Neon maintenance",
        "textFormat": "{{project_name}} ({{project_id}}): Neon maintenance starts",
        "tagKeys": "project_id",
    }
