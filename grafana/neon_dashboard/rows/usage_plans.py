"""Row "Usage on today's plans": the usage-based plans' metrics (v2 consumption history) this
billing period, and each organization's spending limit. Needs --collector.usage (and
--collector.spending_limit for the limit)."""

from __future__ import annotations

from neon_dashboard.panels import Json, P, Row, bargauge, named, stat, targets
from neon_dashboard.rows.usage import NEEDS, per_project, top

COMPUTE = per_project("neon_project_compute_unit_seconds", " / 3600")  # CU-hours
ROOT = per_project("neon_project_root_branch_byte_months")
CHILD = per_project("neon_project_child_branch_byte_months")
PUBLIC = per_project("neon_project_public_network_transfer_bytes")
EXTRA = per_project("neon_project_extra_branch_months")
# Organization-level: shown for the organizations of the selected projects.
LIMIT = (
    "max by (org_id) (neon_organization_spending_limit_dollars) "
    f"and on (org_id) max by (org_id) (neon_project_info{{{P}}})"
)
PLANS = " Usage-based plans (Launch, Scale, Agent, Business, Enterprise) only."


def compute_units() -> Json:
    return stat(
        "Compute this period (CU-hours)",
        "How much compute have the selected projects used this billing period, as Neon bills "
        "it on usage-based plans? Compute-unit hours (CU x hours). A faster climb than last "
        "period means bigger or longer-running computes: see Top 10 projects by compute "
        "units." + PLANS + NEEDS,
        targets((f"sum({COMPUTE})", "CU-hours"), instant=True),
        unit="none",
        w=5,
    )


def branch_storage() -> Json:
    return stat(
        "Branch storage this period",
        "How much branch storage have the selected projects accrued this billing period? "
        "Root plus child branch byte-months (1 GB kept all month = 1 GB-month), as billed. "
        "Delete unused child branches to lower it." + PLANS + NEEDS,
        targets((f"sum({ROOT}) + sum({CHILD})", "storage"), instant=True),
        unit="bytes",
        w=5,
    )


def public_transfer() -> Json:
    return stat(
        "Public network transfer this period",
        "How much data have the selected projects sent over the public network this billing "
        "period? Transfer beyond the plan's allowance is billed." + PLANS + NEEDS,
        targets((f"sum({PUBLIC})", "public transfer"), instant=True),
        unit="bytes",
        w=5,
    )


def extra_branches() -> Json:
    return stat(
        "Extra branch-months this period",
        "How many branches beyond the plan's allowance did the selected projects keep this "
        "billing period? Branch-months: each is billed. Delete branches nobody uses."
        + PLANS
        + NEEDS,
        targets((f"sum({EXTRA})", "extra branch-months"), instant=True),
        unit="none",
        w=4,
    )


def spending_limit() -> Json:
    return stat(
        "Spending limit",
        "What may the organizations of the selected projects spend a month? Each one's "
        "spending limit (US dollars), where one is set; Neon "
        "e-mails at 80% and 100% and does not stop computes. deploy/prometheus/"
        "neon-exporter-spend.yml estimates the spend against it. Needs "
        "--collector.spending_limit (Launch and Scale plans).",
        targets((LIMIT, "{{org_id}}"), instant=True),
        unit="currencyUSD",
        w=5,
    )


def top_compute_units() -> Json:
    return bargauge(
        "Top 10 projects by compute units",
        "Which projects used the most compute this billing period on a usage-based plan? "
        "CU-hours per project. For the top ones check autoscaling limits and suspend "
        "timeouts." + NEEDS,
        top(COMPUTE),
        unit="none",
        w=12,
    )


def top_storage() -> Json:
    return bargauge(
        "Top 10 projects by branch storage",
        "Which projects accrued the most branch storage (root and child, byte-months) this "
        "billing period? Prune branches or shorten the restore window at the top." + NEEDS,
        targets(
            (f"topk(10, {named(f'(({ROOT}) + ({CHILD}))')})", "{{project_name}} ({{project_id}})"),
            instant=True,
        ),
        unit="bytes",
        w=12,
    )


def panels() -> list[Json]:
    return [
        compute_units(),
        branch_storage(),
        public_transfer(),
        extra_branches(),
        spending_limit(),
        top_compute_units(),
        top_storage(),
    ]


ROW = Row("Usage on today's plans (usage-based)", panels)
