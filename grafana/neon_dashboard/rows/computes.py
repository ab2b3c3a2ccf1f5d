"""Row "Computes (endpoints)": how many computes, of what type and size, in what state, and which
have been idle longest."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    YELLOW,
    Json,
    P,
    Row,
    bargauge,
    stat,
    targets,
    thresholds,
    timeseries,
)


def per_ep(metric: str) -> str:
    """`metric` once per compute, whichever replica or key reported it."""
    return f"max by (project_id, endpoint_id) ({metric}{{{P}}})"


MAX_CU = per_ep("neon_endpoint_autoscaling_limit_max_cu")
MIN_CU = per_ep("neon_endpoint_autoscaling_limit_min_cu")


def by_type() -> Json:
    return stat(
        "Computes by type",
        "How many read-write and read-only computes are selected?",
        targets(
            (
                "count by (endpoint_type) (max by (project_id, endpoint_id, endpoint_type) "
                f"(neon_endpoint_info{{{P}}}))",
                "{{endpoint_type}}",
            ),
            instant=True,
        ),
        text_mode="value_and_name",
        w=6,
    )


def never_suspend() -> Json:
    return stat(
        "Computes that never suspend",
        "How many computes run around the clock? Computes whose suspend timeout is -1 "
        "(never suspend) bill compute time all the time; make sure each one is meant to.",
        targets(
            (
                f"count({per_ep('neon_endpoint_suspend_timeout_seconds')} == -1) or vector(0)",
                "never suspend",
            ),
            instant=True,
        ),
        thr=thresholds((None, GREEN), (1, YELLOW)),
        w=6,
    )


def autoscaling_totals() -> Json:
    return stat(
        "Autoscaling floor and ceiling",
        "How much compute can the selected computes use? Sum of autoscaling minimums (what "
        "they use when awake) and maximums (the most they can scale to at once), in compute "
        "units (CU). The ceiling bounds the worst-case compute bill.",
        targets(
            (f"sum({MIN_CU})", "min CU (sum)"),
            (f"sum({MAX_CU})", "max CU (sum)"),
            instant=True,
        ),
        text_mode="value_and_name",
        decimals=2,
        w=12,
    )


def by_state() -> Json:
    state = f"max by (project_id, endpoint_id, state) (neon_endpoint_state{{{P}}})"
    return timeseries(
        "Computes by state",
        "How many compute endpoints are active, idle (suspended) or starting (init)? "
        "Computes that stay in init for minutes do not come up: check them in the Neon "
        "Console and Neon's status page.",
        targets((f"sum by (state) ({state})", "{{state}}")),
        stack=True,
        w=12,
    )


def by_autoscaling_limit() -> Json:
    return bargauge(
        "Computes by autoscaling limit",
        "How are the selected computes sized? Number of computes per autoscaling maximum "
        "(and minimum) in compute units. Computes at a high maximum can scale the bill up.",
        targets(
            (f'count_values("cu", {MAX_CU})', "max {{cu}} CU"),
            (f'count_values("cu", {MIN_CU})', "min {{cu}} CU"),
            instant=True,
        ),
        w=12,
    )


def longest_idle() -> Json:
    return bargauge(
        "Longest-idle computes",
        "Which computes have not been active for the longest time? Time since each "
        "compute was last active (top 10). Computes unused for weeks may belong to "
        "forgotten branches: candidates for deletion.",
        targets(
            (
                f"topk(10, time() - {per_ep('neon_endpoint_last_active_timestamp_seconds')})",
                "{{endpoint_id}} ({{project_id}})",
            ),
            instant=True,
        ),
        unit="s",
        w=24,
    )


def panels() -> list[Json]:
    return [
        by_type(),
        never_suspend(),
        autoscaling_totals(),
        by_state(),
        by_autoscaling_limit(),
        longest_idle(),
    ]


ROW = Row("Computes (endpoints)", panels)
