"""Row "Account limits and headroom": projects and branches against the account's limits, the
billing account's state, and compute headroom (computes active at once against Neon's limit,
autoscaling maxima against the account's). Limits need --collector.account (refreshed hourly);
the compute counts come from the endpoints collector."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    RED,
    YELLOW,
    Json,
    K,
    P,
    Row,
    bargauge,
    named,
    see,
    stat,
    targets,
    thresholds,
)

NEEDS = " Needs --collector.account (refreshed hourly)."
# Neon's default limit of concurrently active computes per project
# (https://neon.com/docs/manage/computes): the same setting as NeonComputesNearActiveLimit's
# `/ 20` (edit both).
ACTIVE_LIMIT = 20
BRANCHES_LIMIT = f"on () group_left () min (neon_account_branches_limit{{{K}}})"
AUTOSCALING_LIMIT = f"on () group_left () min (neon_account_max_autoscaling_limit_cu{{{K}}})"
SHARE = thresholds((None, GREEN), (0.8, YELLOW), (0.9, RED))


def projects_used() -> Json:
    return stat(
        "Projects of the limit",
        "How close is each key's account to the projects its plan allows? Projects the key "
        "lists over projects_limit; creating a project fails at 100%."
        + NEEDS
        + see("NeonProjectsNearLimit"),
        targets(
            (
                f"max by (key) (neon_projects{{{K}}}) "
                f"/ max by (key) (neon_account_projects_limit{{{K}}})",
                "{{key}}",
            ),
            instant=True,
        ),
        unit="percentunit",
        thr=SHARE,
    )


def billing() -> Json:
    return stat(
        "Billing account",
        "Is each key's billing account in good standing? Its state (active, suspended, "
        "deactivated, deleted, UNKNOWN); anything but active is an alert."
        + NEEDS
        + see("NeonBillingAccountNotActive"),
        targets(
            (
                f"max by (key, state) (neon_account_billing_state{{{K}}} == 1)",
                "{{key}}: {{state}}",
            ),
            instant=True,
        ),
        text_mode="name",
    )


def branches() -> Json:
    return bargauge(
        "Branches of the limit (top 10 projects)",
        "Which projects are near the branches per project their plan includes? Branches over "
        "branches_limit: at 100% the Free plan refuses new branches, paid plans bill extra "
        "branches. Needs --collector.branches too." + NEEDS + see("NeonBranchesNearLimit"),
        targets(
            (
                "topk(10, "
                + named(f"count by (project_id) (neon_branch_info{{{P}}}) / {BRANCHES_LIMIT}")
                + ")",
                "{{project_name}} ({{project_id}})",
            ),
            instant=True,
        ),
        unit="percentunit",
        thr=SHARE,
        w=8,
    )


def active_computes() -> Json:
    return bargauge(
        "Active computes per project (top 10)",
        f"How many computes run at once in each project, against Neon's limit of "
        f"{ACTIVE_LIMIT} concurrently active computes per project (its documented default; a "
        "setting, also in the alert rule)? From the endpoints collector: no extra request."
        + see("NeonComputesNearActiveLimit"),
        targets(
            (
                "topk(10, "
                + named(f'sum by (project_id) (neon_endpoint_state{{{P},state="active"}})')
                + ")",
                "{{project_name}} ({{project_id}})",
            ),
            instant=True,
        ),
        thr=thresholds((None, GREEN), (0.8 * ACTIVE_LIMIT, YELLOW), (ACTIVE_LIMIT, RED)),
        w=8,
    )


def autoscaling() -> Json:
    return bargauge(
        "Autoscaling maximum of the account's limit (top 10 endpoints)",
        "Which computes may already autoscale to (nearly) the largest compute the account "
        "allows (max_autoscaling_limit)? They cannot be given more room without a plan change."
        + NEEDS
        + see("NeonEndpointNearAutoscalingLimit"),
        targets(
            (
                f"topk(10, neon_endpoint_autoscaling_limit_max_cu{{{P}}} / {AUTOSCALING_LIMIT})",
                "{{endpoint_id}} ({{project_id}})",
            ),
            instant=True,
        ),
        unit="percentunit",
        thr=SHARE,
        w=8,
    )


def panels() -> list[Json]:
    return [projects_used(), billing(), branches(), active_computes(), autoscaling()]


ROW = Row("Account limits and headroom", panels)
