"""Row "Branches": how many branches per project, the largest, and their states.
Needs --collector.branches."""

from __future__ import annotations

from neon_dashboard.panels import (
    PROJECT_LEGEND,
    Json,
    P,
    Row,
    bargauge,
    named,
    nan_text,
    piechart,
    targets,
)

NEEDS = " Needs --collector.branches."
BRANCHES = f"max by (project_id, branch_id, branch_name) (neon_branch_info{{{P}}})"
SIZE = f"max by (project_id, branch_id) (neon_branch_logical_size_bytes{{{P}}})"


def per_project() -> Json:
    return bargauge(
        "Branches per project",
        "Which projects have the most branches? Branch count per project (top 10). Many "
        "branches usually mean preview or CI branches that are never deleted; each keeps "
        "its own history and may count against the plan's branch limit." + NEEDS,
        targets(
            (f"topk(10, {named(f'count by (project_id) ({BRANCHES})')})", PROJECT_LEGEND),
            instant=True,
        ),
        w=8,
    )


def largest() -> Json:
    return bargauge(
        "Largest branches by logical size",
        "Which branches hold the most data? Logical size per branch (top 10). A branch "
        "whose size Neon has not computed yet (a new or empty one) reads 'not reported' and "
        "is listed only when fewer than 10 have a size. Large non-default branches are "
        "candidates for reset or deletion; a branch near the plan's logical size limit "
        "will refuse writes." + NEEDS,
        targets(
            (
                # NaN, not 0, for a size Neon does not report; topk ranks NaN last.
                f"topk(10, {SIZE} * on (project_id, branch_id) group_left (branch_name) "
                f"{BRANCHES} or {BRANCHES} * NaN unless on (project_id, branch_id) {SIZE})",
                "{{branch_name}} ({{project_id}})",
            ),
            instant=True,
        ),
        unit="bytes",
        mappings=[nan_text("not reported")],
        w=10,
    )


def by_state() -> Json:
    return piechart(
        "Branches by state",
        "What state are the selected branches in? ready is normal; archived branches are "
        "stored more cheaply and wake on first use; init or resetting for more than a few "
        "minutes means a stuck operation: check the branch in the Neon Console." + NEEDS,
        targets(
            (
                "count by (state) (max by (project_id, branch_id, state) "
                f"(neon_branch_info{{{P}}}))",
                "{{state}}",
            ),
            instant=True,
        ),
    )


def panels() -> list[Json]:
    return [per_project(), largest(), by_state()]


ROW = Row("Branches", panels)
