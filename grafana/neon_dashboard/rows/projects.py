"""Row "Projects": how many projects, how large, in what state, where, on which Postgres."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    PROJECT_LEGEND,
    PROJECT_NAMES,
    YELLOW,
    Json,
    K,
    P,
    Row,
    bargauge,
    named,
    piechart,
    stat,
    targets,
    thresholds,
    timeseries,
)

SIZE = f"max by (project_id) (neon_project_size_bytes{{{P}}})"


def projects_per_key() -> Json:
    return stat(
        "Projects per key",
        "How many projects does each API key see? From the key's last good poll. A sudden "
        "drop means projects were deleted or moved, or the key lost access to an "
        "organization.",
        targets((f"max by (key) (neon_projects{{{K}}})", "{{key}}"), instant=True),
        text_mode="value_and_name",
        w=6,
    )


def distinct_projects() -> Json:
    return stat(
        "Projects (distinct)",
        "How many distinct projects are selected? A project seen by two keys counts once.",
        targets((f"count({PROJECT_NAMES})", "projects"), instant=True),
        w=3,
    )


def total_size() -> Json:
    return stat(
        "Total project size",
        "How much storage do the selected projects use together? Sum of each project's "
        "storage size (Neon's synthetic storage size).",
        targets((f"sum({SIZE})", "total"), instant=True),
        unit="bytes",
        w=3,
    )


def stuck_in_init() -> Json:
    return stat(
        "Projects stuck in init",
        "Are projects stuck starting? Projects whose state is init (a compute that is "
        "starting). A value that stays above 0 for minutes means computes do not come up: "
        "check the projects' endpoints in the Neon Console and Neon's status page.",
        targets(
            (
                f'sum(max by (project_id) (neon_project_state{{{P},state="init"}})) or vector(0)',
                "init",
            ),
            instant=True,
        ),
        thr=thresholds((None, GREEN), (1, YELLOW)),
        w=3,
    )


def pooler_coverage() -> Json:
    pooler = f"max by (project_id) (neon_project_pooler_enabled{{{P}}})"
    endpoints = f"max by (project_id, endpoint_id) (neon_endpoint_pooler_enabled{{{P}}})"
    return stat(
        "Pooler coverage",
        "What share of projects (and computes) has connection pooling enabled? Serverless "
        "and many-client workloads should connect through the pooler; a low share may mean "
        "connection limits will bite.",
        targets(
            (f"sum({pooler}) / count({pooler})", "projects"),
            (f"sum({endpoints}) / count({endpoints})", "computes"),
            instant=True,
        ),
        unit="percentunit",
        text_mode="value_and_name",
        decimals=0,
        w=9,
    )


def projects_by_state() -> Json:
    state = f"max by (project_id, state) (neon_project_state{{{P}}})"
    return timeseries(
        "Projects by state",
        "How many projects are active, idle or starting (init) over time? A project is "
        "active while any of its computes is active. Many projects stuck in init means "
        "computes are not starting.",
        targets((f"sum by (state) ({state})", "{{state}}")),
        stack=True,
        w=12,
    )


def top_by_size() -> Json:
    return bargauge(
        "Top 10 projects by size",
        "Which projects use the most storage? Neon's synthetic storage size, now. Compare "
        "with your plan's storage limit; prune branches or history of the largest ones.",
        targets((f"topk(10, {named(SIZE)})", PROJECT_LEGEND), instant=True),
        unit="bytes",
        w=12,
    )


def size_over_time() -> Json:
    return timeseries(
        "Project size over time",
        "How fast does each selected project grow? Storage size per project (pick projects "
        "with the project variable when there are many). A steep rise means a write-heavy "
        "job or retained history: check before a size limit is hit.",
        targets((named(SIZE), "{{project_name}}")),
        unit="bytes",
        w=12,
    )


def postgres_versions() -> Json:
    return piechart(
        "Postgres versions",
        "Which Postgres major versions do the selected projects run? Plan upgrades of "
        "projects on versions nearing end of life.",
        targets(
            (
                "count by (pg_version) (max by (project_id, pg_version) "
                f"(neon_project_info{{{P}}}))",
                "PG {{pg_version}}",
            ),
            instant=True,
        ),
    )


def projects_by_region() -> Json:
    return piechart(
        "Projects by region",
        "Where do the selected projects run? Projects per Neon region (cloud provider and "
        "location); check that data stays where it must.",
        targets(
            (
                f"count by (region_id) (max by (project_id, region_id) (neon_project_info{{{P}}}))",
                "{{region_id}}",
            ),
            instant=True,
        ),
    )


def panels() -> list[Json]:
    return [
        projects_per_key(),
        distinct_projects(),
        total_size(),
        stuck_in_init(),
        pooler_coverage(),
        projects_by_state(),
        top_by_size(),
        size_over_time(),
        postgres_versions(),
        projects_by_region(),
    ]


ROW = Row("Projects", panels)
