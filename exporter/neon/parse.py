"""Pure parsers from decoded Neon JSON to models.

Tolerant of fields they do not know, strict about the ones they need: an item missing a needed
field is skipped and counted, and the rest of the page still counts. A body whose overall shape
is wrong raises :class:`ParseError`, never anything else.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .fields import (
    BadItem,
    ParseError,
    boolean,
    integer,
    number,
    opt_boolean,
    opt_integer,
    opt_number,
    opt_string,
    opt_timestamp,
    page_cursor,
    parse_items,
    state_of,
    string,
)
from .models import (
    QUOTA_FIELDS,
    ApiKey,
    AuthDetails,
    Branch,
    BranchPage,
    BranchRecovery,
    Endpoint,
    Project,
    ProjectPage,
    Quota,
    Usage,
)

_NAME = re.compile(r"[a-z0-9_-]{1,40}")  # an integration's name: a label value, never free text


def _v2_project(item: dict[str, Any]) -> Project:
    return Project(
        id=string(item, "id"),
        name=opt_string(item, "name"),
        region_id=opt_string(item, "region_id"),
        platform_id=opt_string(item, "platform_id"),
        org_id=opt_string(item, "org_id"),
        pg_version=integer(item, "pg_version"),
        size_bytes=opt_integer(item, "synthetic_storage_size"),
        updated_at=opt_string(item, "updated_at"),
        compute_last_active_at=opt_string(item, "compute_last_active_at"),
        deleted_at=opt_timestamp(item, "deleted_at"),
        recoverable_until=opt_timestamp(item, "recoverable_until"),
        quota=_quota(item.get("settings")),
        quota_reset_at=opt_timestamp(item, "quota_reset_at"),
        maintenance_starts_at=opt_timestamp(item, "maintenance_starts_at"),
        history_retention_seconds=opt_integer(item, "history_retention_seconds"),
        active_time_seconds=opt_integer(item, "active_time"),
        permission=opt_string(item, "effective_project_permission"),
    )


def _quota(settings: object) -> Quota | None:
    """``settings.quota``: its positive limits; None when it sets none (zero means unlimited).
    A malformed quota is no quota, never a reason to skip the project."""
    quota = settings.get("quota") if isinstance(settings, dict) else None
    if not isinstance(quota, dict):
        return None
    limits = {n: v for n in QUOTA_FIELDS if (v := opt_integer(quota, n)) is not None and v > 0}
    return Quota(**limits) if limits else None


def _v1_project(item: dict[str, Any]) -> Project:
    return Project(
        id=string(item, "id"),
        name=opt_string(item, "name"),
        region_id=opt_string(item, "region_id"),
        platform_id=opt_string(item, "platform_id"),
        org_id="",
        pg_version=integer(item, "pg_version"),
        size_bytes=opt_integer(item, "size"),
        state=state_of(item, "current_state"),
        pooler_enabled=boolean(item, "pooler_enabled"),
        updated_at=opt_string(item, "updated_at"),
    )


def _endpoint(item: dict[str, Any]) -> Endpoint:
    return Endpoint(
        id=string(item, "id"),
        project_id=string(item, "project_id"),
        branch_id=string(item, "branch_id"),
        type=string(item, "type"),
        state=state_of(item, "current_state"),
        # Deprecated by Neon and due to vanish from answers: absent, never a reason to skip.
        pooler_enabled=opt_boolean(item, "pooler_enabled"),
        autoscaling_limit_min_cu=number(item, "autoscaling_limit_min_cu"),
        autoscaling_limit_max_cu=number(item, "autoscaling_limit_max_cu"),
        suspend_timeout_seconds=opt_number(item, "suspend_timeout_seconds"),
        last_active_timestamp=opt_timestamp(item, "last_active"),
    )


def parse_v2_projects_page(data: object) -> ProjectPage:
    """``GET /api/v2/projects``: projects, the next cursor, and ids Neon could not load in time."""
    projects, skipped = parse_items(data, "projects", _v2_project)
    assert isinstance(data, dict)
    cursor = page_cursor(data)
    unavailable = data.get("unavailable_project_ids")
    return ProjectPage(
        projects=_with_integrations(projects, data),
        cursor=cursor,
        unavailable_project_ids=(
            tuple(i for i in unavailable if isinstance(i, str))
            if isinstance(unavailable, list)
            else ()
        ),
        skipped=skipped,
    )


def _installed(data: dict[str, Any]) -> dict[str, set[str]]:
    """Project id -> what the page's ``integrations`` and ``applications`` maps list for it
    (``ApplicationType`` names; anything not a short name is ignored)."""
    out: dict[str, set[str]] = {}
    for field in ("integrations", "applications"):
        mapping = data.get(field)
        if not isinstance(mapping, dict):
            continue
        for pid, names in mapping.items():
            if isinstance(names, list):
                good = {n for n in names if isinstance(n, str) and _NAME.fullmatch(n)}
                out.setdefault(pid, set()).update(good)
    return out


def _with_integrations(projects: tuple[Project, ...], data: dict[str, Any]) -> tuple[Project, ...]:
    installed = _installed(data)
    if not installed:
        return projects
    return tuple(
        replace(p, integrations=tuple(sorted(map(sys.intern, names))))
        if (names := installed.get(p.id))
        else p
        for p in projects
    )


def parse_v2_endpoints(data: object) -> tuple[tuple[Endpoint, ...], int]:
    """``GET /api/v2/projects/{id}/endpoints`` -> (endpoints, items skipped)."""
    return parse_items(data, "endpoints", _endpoint)


def parse_v1_projects(data: object) -> tuple[tuple[Project, ...], int]:
    """``GET /api/v1/projects``: the bare array of the original API-key document."""
    return parse_items(data, "", _v1_project)


def _branch(item: dict[str, Any]) -> Branch:
    return Branch(
        id=string(item, "id"),
        project_id=string(item, "project_id"),
        name=opt_string(item, "name"),
        state=string(item, "current_state"),
        default=boolean(item, "default"),
        protected=boolean(item, "protected"),
        logical_size_bytes=opt_integer(item, "logical_size"),
        expires_at=opt_timestamp(item, "expires_at"),
        ttl_interval_seconds=opt_integer(item, "ttl_interval_seconds"),
        recovery=_recovery(item.get("recovery")),
    )


def _recovery(recovery: object) -> BranchRecovery | None:
    """``BranchRecoveryInfo``: all three fields are required; a partial one is none."""
    if not isinstance(recovery, dict):
        return None
    deleted = opt_timestamp(recovery, "deleted_at")
    until = opt_timestamp(recovery, "recoverable_until")
    method = opt_string(recovery, "deletion_method")
    if deleted is None or until is None or not method:
        return None
    return BranchRecovery(deleted_at=deleted, recoverable_until=until, deletion_method=method)


def parse_v2_branches_page(data: object) -> BranchPage:
    """``GET /api/v2/projects/{id}/branches``: branches and ``pagination.next`` (None = last)."""
    branches, skipped = parse_items(data, "branches", _branch)
    assert isinstance(data, dict)
    return BranchPage(branches, page_cursor(data, "next"), skipped)


def _storage_byte_seconds(byte_hours: float | None) -> float | None:
    return None if byte_hours is None else byte_hours * 3600.0


def parse_v2_project_usage(data: object) -> Usage:
    """``GET /api/v2/projects/{id}``: the billing-period usage fields of the project."""
    if not isinstance(data, dict) or not isinstance(data.get("project"), dict):
        raise ParseError("missing object 'project'")
    p: dict[str, Any] = data["project"]
    return Usage(
        active_time_seconds=opt_number(p, "active_time_seconds"),
        compute_time_seconds=opt_number(p, "compute_time_seconds"),
        written_data_bytes=opt_number(p, "written_data_bytes"),
        data_transfer_bytes=opt_number(p, "data_transfer_bytes"),
        data_storage_byte_seconds=_storage_byte_seconds(opt_number(p, "data_storage_bytes_hour")),
    )


def _period_usage(periods: object) -> Usage:
    """The usage of the latest billing period: its timeframes summed, per metric."""
    if not isinstance(periods, list):
        raise BadItem("periods")
    current = [p for p in periods if isinstance(p, dict) and isinstance(p.get("period_start"), str)]
    if not current:
        return Usage()
    latest = max(current, key=lambda p: opt_timestamp(p, "period_start") or 0.0)
    frames = latest.get("consumption")
    if not isinstance(frames, list):
        raise BadItem("consumption")
    sums: dict[str, float] = {}
    for frame in frames:
        if not isinstance(frame, dict):
            continue
        for name in (
            "active_time_seconds",
            "compute_time_seconds",
            "written_data_bytes",
            "data_storage_bytes_hour",
        ):
            value = opt_number(frame, name)
            if value is not None:
                sums[name] = sums.get(name, 0.0) + value
    return Usage(
        active_time_seconds=sums.get("active_time_seconds"),
        compute_time_seconds=sums.get("compute_time_seconds"),
        written_data_bytes=sums.get("written_data_bytes"),
        # Consumption history has no data transfer: that gauge stays absent, never 0.
        data_transfer_bytes=None,
        data_storage_byte_seconds=_storage_byte_seconds(sums.get("data_storage_bytes_hour")),
    )


def parse_consumption_projects(data: object) -> tuple[dict[str, Usage], int]:
    """``GET /api/v2/consumption_history/projects`` -> (usage by project id, items skipped)."""
    items, skipped = parse_items(
        data,
        "projects",
        lambda item: (string(item, "project_id"), _period_usage(item.get("periods"))),
    )
    return dict(items), skipped


def parse_auth(data: object) -> AuthDetails:
    """``GET /auth`` (AuthDetailsResponse): both fields are required."""
    if not isinstance(data, dict):
        raise ParseError("expected a JSON object")
    try:
        return AuthDetails(
            account_id=string(data, "account_id"), auth_method=string(data, "auth_method")
        )
    except BadItem as exc:
        raise ParseError(f"missing {exc}") from None


def parse_api_keys(owner: str) -> Callable[[object], tuple[tuple[ApiKey, ...], int]]:
    """A parser of one key list (a bare array), each key owned by ``owner``."""

    def key(item: dict[str, Any]) -> ApiKey:
        return ApiKey(
            id=integer(item, "id"),
            name=opt_string(item, "name"),
            owner=owner,
            created_at=opt_timestamp(item, "created_at"),
            last_used_at=opt_timestamp(item, "last_used_at"),
            last_used_from_addr=opt_string(item, "last_used_from_addr"),
            project_id=opt_string(item, "project_id"),
        )

    return lambda data: parse_items(data, "", key)


def parse_organization_ids(data: object) -> tuple[tuple[str, ...], int]:
    """``GET /users/me/organizations`` (OrganizationsResponse): the organization ids."""
    return parse_items(data, "organizations", lambda item: string(item, "id"))
