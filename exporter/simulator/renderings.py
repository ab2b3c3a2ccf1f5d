"""JSON renderings of the simulated world, in the shapes of Neon's API document (v2, and v1)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from exporter.simulator.model import (
    SimBranch,
    SimEndpoint,
    SimProject,
    proxy_host,
    region_name,
    rfc3339,
)


def _consumption_period(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def project_list_item(project: SimProject, now: datetime) -> dict[str, Any]:
    """A v2 ``ProjectListItem``."""
    item: dict[str, Any] = {
        "id": project.id,
        "platform_id": "aws",
        "region_id": project.region_id,
        "name": project.name,
        "provisioner": "k8s-neonvm",
        "default_endpoint_settings": {
            "autoscaling_limit_min_cu": 0.25,
            "autoscaling_limit_max_cu": 2,
            "suspend_timeout_seconds": 0,
        },
        "settings": {"allowed_ips": {"ips": [], "protected_branches_only": False}},
        "pg_version": project.pg_version,
        "proxy_host": proxy_host(project.region_id),
        "branch_logical_size_limit": project.branch_logical_size_limit_mib,
        "branch_logical_size_limit_bytes": project.branch_logical_size_limit_mib * 1024 * 1024,
        "store_passwords": True,
        "active_time": project.active_time_seconds,
        "cpu_used_sec": project.compute_time_seconds,
        "creation_source": "console",
        "created_at": rfc3339(project.created_at),
        "updated_at": rfc3339(project.updated_at),
        "synthetic_storage_size": project.size_bytes,
        "owner_id": project.owner_id,
        "history_retention_seconds": project.history_retention_seconds,
    }
    last_active = project.compute_last_active_at(now)
    if last_active is not None:
        item["compute_last_active_at"] = rfc3339(last_active)
    if project.org_id is not None:
        item["org_id"] = project.org_id
    if project.quota:
        item["settings"]["quota"] = dict(project.quota)
        item["quota_reset_at"] = rfc3339(_consumption_period(now)[1])  # deprecated, still sent
    if project.maintenance_starts_at is not None:
        item["maintenance_starts_at"] = rfc3339(project.maintenance_starts_at)
    return item


def project_detail(project: SimProject, now: datetime) -> dict[str, Any]:
    """A v2 ``Project``."""
    detail = project_list_item(project, now)
    detail.pop("active_time")
    start, end = _consumption_period(now)
    detail.update(
        {
            "consumption_period_start": rfc3339(start),
            "consumption_period_end": rfc3339(end),
            "active_time_seconds": project.active_time_seconds,
            "compute_time_seconds": project.compute_time_seconds,
            "written_data_bytes": project.written_data_bytes,
            "data_transfer_bytes": project.data_transfer_bytes,
            "data_storage_bytes_hour": project.data_storage_bytes_hour,
        }
    )
    return detail


def branch_json(branch: SimBranch) -> dict[str, Any]:
    """A v2 ``Branch``."""
    item: dict[str, Any] = {
        "id": branch.id,
        "project_id": branch.project_id,
        "name": branch.name,
        "current_state": branch.state,
        "state_changed_at": rfc3339(branch.updated_at),
        "creation_source": "console",
        "created_at": rfc3339(branch.created_at),
        "updated_at": rfc3339(branch.updated_at),
        "default": branch.default,
        "primary": branch.default,
        "protected": branch.protected,
        "cpu_used_sec": 0,
        "active_time_seconds": 0,
        "compute_time_seconds": 0,
        "written_data_bytes": 0,
        "data_transfer_bytes": 0,
        "init_source": "parent-data",
    }
    if branch.logical_size is not None:
        item["logical_size"] = branch.logical_size
    if branch.expires_at is not None:
        item["expires_at"] = rfc3339(branch.expires_at)
    if branch.ttl_interval_seconds is not None:
        item["ttl_interval_seconds"] = branch.ttl_interval_seconds
    if branch.recovery is not None:
        item["recovery"] = dict(branch.recovery)
    return item


def consumption_json(
    project: SimProject,
    metrics: Collection[str],
    frame: tuple[datetime, datetime] | None,
    now: datetime,
) -> dict[str, Any]:
    """A ``ConsumptionHistoryPerProject``: the current period, one timeframe if in range."""
    start, _ = _consumption_period(now)
    values = {
        "active_time_seconds": project.active_time_seconds,
        "compute_time_seconds": project.compute_time_seconds,
        "written_data_bytes": project.written_data_bytes,
        "synthetic_storage_size_bytes": project.size_bytes,
        "data_storage_bytes_hour": project.data_storage_bytes_hour,
        "logical_size_bytes": project.size_bytes,
        "logical_size_bytes_hour": project.data_storage_bytes_hour,
    }
    consumption = []
    if frame is not None:
        consumption.append(
            {
                "timeframe_start": rfc3339(frame[0]),
                "timeframe_end": rfc3339(frame[1]),
                **{m: v for m, v in values.items() if m in metrics},
            }
        )
    return {
        "project_id": project.id,
        "periods": [
            {
                "period_id": "79ec829f-1828-4006-ac82-9f1828a0067d",
                "period_plan": "scale",
                "period_start": rfc3339(start),
                "consumption": consumption,
            }
        ],
    }


def endpoint_json(endpoint: SimEndpoint, now: datetime) -> dict[str, Any]:
    """A v2 ``Endpoint``."""
    host = proxy_host(endpoint.region_id)
    item: dict[str, Any] = {
        "host": f"{endpoint.id}.{host}",
        "id": endpoint.id,
        "project_id": endpoint.project_id,
        "branch_id": endpoint.branch_id,
        "autoscaling_limit_min_cu": endpoint.min_cu,
        "autoscaling_limit_max_cu": endpoint.max_cu,
        "region_id": endpoint.region_id,
        "type": endpoint.type,
        "current_state": endpoint.state,
        "settings": {},
        "disabled": False,
        "passwordless_access": True,
        "creation_source": "console",
        "created_at": rfc3339(endpoint.created_at),
        "updated_at": rfc3339(endpoint.updated_at),
        "proxy_host": host,
        "suspend_timeout_seconds": endpoint.suspend_timeout_seconds,
        "provisioner": "k8s-neonvm",
    }
    if endpoint.pooler_fields:
        item["pooler_enabled"] = endpoint.pooler_enabled
        item["pooler_mode"] = "transaction"
    if endpoint.state == "init":
        item["pending_state"] = "active"
    last_active = endpoint.last_active_at(now)
    if last_active is not None:
        item["last_active"] = rfc3339(last_active)
    return item


def v1_project(project: SimProject) -> dict[str, Any]:
    """A v1 project, in the shape of the old ``GET /api/v1/projects`` array items."""
    host = proxy_host(project.region_id)
    owner_role = project.role_id
    roles: list[Mapping[str, Any]] = [
        {
            "id": owner_role,
            "name": "neondb_owner",
            "password": "",
            "dsn": f"postgres://neondb_owner@{project.id}.{host}:5432",
        },
        {
            "id": owner_role + 1,
            "name": "web_access",
            "password": "",
            "dsn": f"postgres://web_access@{project.id}.{host}:5432",
        },
    ]
    return {
        "id": project.id,
        "parent_id": None,
        "roles": roles,
        "databases": [{"id": owner_role // 2, "name": "neondb", "owner_id": owner_role}],
        "name": project.name,
        "created_at": rfc3339(project.created_at),
        "updated_at": rfc3339(project.updated_at),
        "region_id": project.region_id,
        "instance_handle": "scalable",
        "instance_type_id": "1",
        "region_name": region_name(project.region_id),
        "platform_name": "Serverless",
        "platform_id": "aws",
        "settings": {},
        "pending_state": None,
        "current_state": project.v1_state(),
        "deleted": False,
        "size": project.size_bytes,
        "max_project_size": 0,
        "pooler_enabled": any(ep.pooler_enabled for ep in project.endpoints),
        "pg_version": project.pg_version,
        "proxy_host": host,
    }
