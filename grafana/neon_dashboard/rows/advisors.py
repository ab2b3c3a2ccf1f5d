"""Row "Advisors and integrations": Neon's database advisor findings per project, and which
integrations the projects have. Needs --collector.advisors (the integrations are free)."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    PROJECT_LEGEND,
    RED,
    Json,
    P,
    Row,
    bargauge,
    named,
    nan_text,
    piechart,
    see,
    stat,
    targets,
    thresholds,
)

NEEDS = " Refreshed hourly; needs --collector.advisors."
ISSUES = f"neon_project_advisor_issues{{{P}}}"
AVAILABLE = f"max by (project_id) (neon_project_advisors_available{{{P}}})"


def security_errors() -> Json:
    return stat(
        "Advisor security errors",
        "How many error-level security issues does Neon's database advisor report over the "
        "selected projects (a table exposed through the Data API without row-level security, "
        "...)?" + NEEDS + see("NeonAdvisorSecurityError"),
        targets(
            (
                f"sum(max by (project_id) "
                f'(neon_project_advisor_issues{{{P}, level="error", category="security"}})) '
                "or vector(0)",
                "errors",
            ),
            instant=True,
        ),
        thr=thresholds((None, GREEN), (1, RED)),
        w=6,
    )


def per_project() -> Json:
    return bargauge(
        "Advisor issues by project",
        "Which projects have the most advisor issues, all levels and categories (top 10)? "
        "Only projects with the Data API are analysed: the others read 'not analysed'." + NEEDS,
        targets(
            (
                "topk(10, "
                + named(
                    f"(sum by (project_id) (max by (project_id, level, category) ({ISSUES})) "
                    f"or ({AVAILABLE} == 1) * 0 or ({AVAILABLE} == 0) * NaN)"
                )
                + ")",
                PROJECT_LEGEND,
            ),
            instant=True,
        ),
        mappings=[nan_text("not analysed")],
        w=10,
    )


def integrations() -> Json:
    return piechart(
        "Projects by integration",
        "Which integrations do the selected projects have (from the project list, no request "
        "of its own)? datadog and opentelemetry send Neon's own compute metrics, which the "
        "'Neon compute metrics' row joins with this exporter's; none: projects with no "
        "integration.",
        targets(
            (
                "count by (integration) (max by (project_id, integration) "
                f"(neon_project_integration_info{{{P}}})) or label_replace(count("
                f"max by (project_id) (neon_project_info{{{P}}}) unless on (project_id) "
                f'neon_project_integration_info{{{P}}}), "integration", "none", "", "")',
                "{{integration}}",
            ),
            instant=True,
        ),
        w=8,
    )


def panels() -> list[Json]:
    return [security_errors(), per_project(), integrations()]


ROW = Row("Advisors and integrations", panels)
