"""Frozen, slotted records of what Neon said: the only shapes the rest of the exporter sees."""

from __future__ import annotations

from dataclasses import dataclass

STATES = ("init", "active", "idle")


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    region_id: str
    platform_id: str
    org_id: str
    pg_version: int
    # v2 synthetic_storage_size / v1 size; None when Neon did not report it.
    size_bytes: int | None
    # Only v1 reports these on the project; v2 derives them from endpoints.
    state: str | None = None
    pooler_enabled: bool | None = None
    updated_at: str = ""


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    project_id: str
    branch_id: str
    type: str
    state: str
    pooler_enabled: bool
    autoscaling_limit_min_cu: float
    autoscaling_limit_max_cu: float
    suspend_timeout_seconds: float | None
    last_active_timestamp: float | None


@dataclass(frozen=True, slots=True)
class ProjectPage:
    projects: tuple[Project, ...]
    cursor: str | None
    unavailable_project_ids: tuple[str, ...]
    skipped: int


def derive_state(endpoints: tuple[Endpoint, ...]) -> str:
    """v2 project state: active if any endpoint is active, else init if any is, else idle."""
    states = {e.state for e in endpoints}
    if "active" in states:
        return "active"
    if "init" in states:
        return "init"
    return "idle"
