"""Row "Usage (billing period)": compute, active time, written data and storage this period,
in total and for the top 10 projects. Needs --collector.usage."""

from __future__ import annotations

from neon_dashboard.panels import (
    PROJECT_LEGEND,
    Json,
    P,
    Row,
    bargauge,
    named,
    stat,
    targets,
)

NEEDS = (
    " Billing-period values from Neon (refreshed every usage_interval, 15m by default); "
    "needs --collector.usage."
)


def per_project(metric: str, scale: str = "") -> str:
    return f"max by (project_id) ({metric}{{{P}}}){scale}"


COMPUTE = per_project("neon_project_compute_time_seconds")
ACTIVE = per_project("neon_project_active_time_seconds")
WRITTEN = per_project("neon_project_written_data_bytes")
# Neon reports storage in byte-hours (data_storage_bytes_hour); the exporter in byte-seconds.
STORAGE = per_project("neon_project_data_storage_byte_seconds", " / 3600")


def top(metric: str) -> list[Json]:
    return targets((f"topk(10, {named(metric)})", PROJECT_LEGEND), instant=True)


def compute_time() -> Json:
    return stat(
        "Compute time this period",
        "How much compute have the selected projects used this billing period? Sum of "
        "compute time (CPU seconds, roughly compute units x seconds active). It resets when a "
        "period starts; a faster climb than last period means bigger or longer-running "
        "computes: see Top 10 projects by compute time." + NEEDS,
        targets((f"sum({COMPUTE})", "compute time"), instant=True),
        unit="s",
        w=6,
    )


def active_time() -> Json:
    return stat(
        "Active time this period",
        "How long were the selected projects' computes awake this billing period? Sum of "
        "active time over projects. If it grows by about the elapsed time per project, "
        "computes hardly ever suspend: check suspend timeouts (Computes that never "
        "suspend) and what keeps connections open." + NEEDS,
        targets((f"sum({ACTIVE})", "active time"), instant=True),
        unit="s",
        w=6,
    )


def written_data() -> Json:
    return stat(
        "Written data this period",
        "How much data (WAL) have the selected projects written this billing period? "
        "Written data is billed on some plans and grows history storage; a jump points at "
        "a bulk load or a write-heavy job: see Top 10 projects by written data." + NEEDS,
        targets((f"sum({WRITTEN})", "written"), instant=True),
        unit="bytes",
        w=6,
    )


def storage() -> Json:
    return stat(
        "Storage consumed this period",
        "How much storage have the selected projects consumed this billing period? Storage "
        "size integrated over time, in byte-hours (1 GB kept for 10 hours = 10 GB·h), as "
        "Neon bills it. Prune branches and history of the largest consumers (Top 10 "
        "projects by storage consumed). Data transfer is not shown: Neon's consumption "
        "history does not report it." + NEEDS,
        targets((f"sum({STORAGE})", "storage"), instant=True),
        unit="si:B·h",
        w=6,
    )


def top_compute() -> Json:
    return bargauge(
        "Top 10 projects by compute time",
        "Which projects used the most compute this billing period? Compute time (CPU "
        "seconds) per project. For the top ones check autoscaling limits and suspend "
        "timeouts, and whether the load is expected." + NEEDS,
        top(COMPUTE),
        unit="s",
        w=8,
    )


def top_written() -> Json:
    return bargauge(
        "Top 10 projects by written data",
        "Which projects wrote the most data this billing period? Written data (WAL) per "
        "project. An unexpected leader may run a runaway job or rewrite whole tables; "
        "written data also grows history storage." + NEEDS,
        top(WRITTEN),
        unit="bytes",
        w=8,
    )


def top_storage() -> Json:
    return bargauge(
        "Top 10 projects by storage consumed",
        "Which projects consumed the most storage this billing period? Byte-hours per "
        "project (size kept over time). Prune branches, shorten the history retention or "
        "delete unused projects at the top." + NEEDS,
        top(STORAGE),
        unit="si:B·h",
        w=8,
    )


def panels() -> list[Json]:
    return [
        compute_time(),
        active_time(),
        written_data(),
        storage(),
        top_compute(),
        top_written(),
        top_storage(),
    ]


ROW = Row("Usage (billing period)", panels)
