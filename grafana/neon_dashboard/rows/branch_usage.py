"""Row "Usage per branch": which branches use the compute and transfer this billing period, on
usage-based plans. Needs --collector.branch_usage (every usage interval; up to 6 series per
branch)."""

from __future__ import annotations

from neon_dashboard.panels import Json, P, Row, bargauge, targets

NEEDS = " Needs --collector.branch_usage; usage-based plans only."
NAMES = f"max by (project_id, branch_id, branch_name) (neon_branch_info{{{P}}})"
LEGEND = "{{branch_name}} ({{project_id}})"


def top(metric: str, scale: str = "") -> str:
    """The top 10 branches by ``metric``, named after the branch (needs --collector.branches)."""
    return (
        f"topk(10, {metric}{{{P}}}{scale} "
        f"* on (project_id, branch_id) group_left (branch_name) {NAMES})"
    )


def compute() -> Json:
    return bargauge(
        "Top 10 branches by compute (CU-hours)",
        "Which branches use the compute this billing period? Compute-unit hours per branch "
        "(a preview branch left running shows here). Branch names need --collector.branches."
        + NEEDS,
        targets((top("neon_branch_compute_unit_seconds", " / 3600"), LEGEND), instant=True),
    )


def transfer() -> Json:
    return bargauge(
        "Top 10 branches by public network transfer",
        "Which branches send the most data to clients this billing period?" + NEEDS,
        targets((top("neon_branch_public_network_transfer_bytes"), LEGEND), instant=True),
        unit="bytes",
    )


def panels() -> list[Json]:
    return [compute(), transfer()]


ROW = Row("Usage per branch", panels)
