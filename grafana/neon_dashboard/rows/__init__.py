"""The dashboard's rows, top to bottom. A row is one module here defining `ROW`; adding one is a
new module and one entry in ROWS."""

from __future__ import annotations

from neon_dashboard.panels import Row
from neon_dashboard.rows import (
    account,
    api_keys,
    branch_usage,
    branches,
    computes,
    health,
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
    quotas.ROW,
    lists.ROW,
    operations.ROW,
    snapshots.ROW,
    api_keys.ROW,
    account.ROW,
    organizations.ROW,
)
