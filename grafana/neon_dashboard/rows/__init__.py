"""The dashboard's rows, top to bottom. A row is one module here defining `ROW`; adding one is a
new module and one entry in ROWS."""

from __future__ import annotations

from neon_dashboard.panels import Row
from neon_dashboard.rows import (
    account,
    advisors,
    api_keys,
    branch_usage,
    branches,
    compute,
    computes,
    health,
    lifecycle,
    lists,
    operations,
    organizations,
    projects,
    quotas,
    snapshots,
    usage,
    usage_plans,
)

ROWS: tuple[Row, ...] = (
    health.ROW,
    projects.ROW,
    usage.ROW,
    usage_plans.ROW,
    branch_usage.ROW,
    computes.ROW,
    branches.ROW,
    lifecycle.ROW,
    quotas.ROW,
    lists.ROW,
    operations.ROW,
    snapshots.ROW,
    api_keys.ROW,
    account.ROW,
    organizations.ROW,
    advisors.ROW,
    compute.ROW,
)
