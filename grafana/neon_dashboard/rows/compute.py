"""Row "Neon compute metrics (joined)": Neon's own compute series (its metrics export through
the Datadog, Grafana Cloud or OpenTelemetry integration) joined with this exporter's names and
limits by project_id and endpoint_id (docs/neon-metrics-export.md). Empty where those series do
not reach this data source."""

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
    targets,
    thresholds,
)

NEEDS = (
    " From Neon's metrics export (a Datadog, Grafana Cloud or OpenTelemetry integration on "
    "the project), joined by project_id and endpoint_id: see docs/neon-metrics-export.md."
)
ENDPOINT_LEGEND = "{{project_name}} / {{endpoint_id}}"


def per_endpoint(expr: str) -> str:
    """``expr`` (one series per project_id, endpoint_id) labelled with the project's name."""
    return f"{expr} * on (project_id) group_left (project_name) {PROJECT_NAMES}"


def connections() -> Json:
    return bargauge(
        "Connections by endpoint",
        "Which computes hold the most connections (all states and databases, top 10)? "
        "Compare with the pooler: many idle connections are better pooled." + NEEDS,
        targets(
            (
                "topk(10, "
                + per_endpoint(f"sum by (project_id, endpoint_id) (neon_connection_counts{{{P}}})")
                + ")",
                ENDPOINT_LEGEND,
            ),
            instant=True,
        ),
        w=6,
    )


def cpu() -> Json:
    return bargauge(
        "CPU against the autoscaling maximum",
        "How close is each compute to its ceiling? CPU in use (5m rate) over the endpoint's "
        "autoscaling_limit_max_cu (1 CU = 1 vCPU), top 10. Near 100%: raise the maximum." + NEEDS,
        targets(
            (
                "topk(10, "
                + per_endpoint(
                    "sum by (project_id, endpoint_id) "
                    f'(rate(host_cpu_seconds_total{{{P}, mode!="idle"}}[$__rate_interval])) '
                    "/ on (project_id, endpoint_id) max by (project_id, endpoint_id) "
                    f"(neon_endpoint_autoscaling_limit_max_cu{{{P}}})"
                )
                + ")",
                ENDPOINT_LEGEND,
            ),
            instant=True,
        ),
        unit="percentunit",
        thr=thresholds((None, GREEN), (0.7, YELLOW), (0.9, RED)),
        w=6,
    )


def cache() -> Json:
    return bargauge(
        "Local file cache hit ratio",
        "Which computes miss their cache most (5m rate, 10 lowest)? A low ratio means the "
        "working set does not fit the compute's memory, which grows with its compute units."
        + NEEDS,
        targets(
            (
                "bottomk(10, "
                + per_endpoint(
                    f"sum by (project_id, endpoint_id) (rate(neon_lfc_hits{{{P}}}"
                    "[$__rate_interval])) / (sum by (project_id, endpoint_id) "
                    f"(rate(neon_lfc_hits{{{P}}}[$__rate_interval])) + sum by (project_id, "
                    f"endpoint_id) (rate(neon_lfc_misses{{{P}}}[$__rate_interval])))"
                )
                + ")",
                ENDPOINT_LEGEND,
            ),
            instant=True,
        ),
        unit="percentunit",
        thr=thresholds((None, RED), (0.8, YELLOW), (0.95, GREEN)),
        w=6,
    )


def db_size() -> Json:
    return bargauge(
        "Largest databases by project",
        "Which projects' computes report the largest database (neon_db_total_size, the "
        "largest of the project's, top 10)? Set against neon_project_quota_logical_size_bytes "
        "where the project has a quota." + NEEDS,
        targets(
            (
                f"topk(10, {named(f'max by (project_id) (neon_db_total_size{{{P}}})')})",
                PROJECT_LEGEND,
            ),
            instant=True,
        ),
        unit="bytes",
        w=6,
    )


def panels() -> list[Json]:
    return [connections(), cpu(), cache(), db_size()]


ROW = Row("Neon compute metrics (joined)", panels)
