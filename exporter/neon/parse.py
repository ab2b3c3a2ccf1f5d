"""Pure parsers from decoded Neon JSON to models.

Tolerant of fields they do not know, strict about the ones they need: an item missing a needed
field is skipped and counted, and the rest of the page still counts. A body whose overall shape
is wrong raises :class:`ParseError`, never anything else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from .models import (
    STATES,
    ApiKey,
    AuthDetails,
    Branch,
    BranchPage,
    Endpoint,
    Project,
    ProjectPage,
    Usage,
)

T = TypeVar("T")


class ParseError(ValueError):
    """The body does not have the shape of the documented response."""


class _BadItem(Exception):
    pass


# Strings are interned: ids, regions and types repeat across endpoints, projects and every
# poll, and at 10,000 projects one shared object per distinct value is megabytes saved.
def _str(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise _BadItem(name)
    return sys.intern(value)


def _opt_str(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    return sys.intern(value) if isinstance(value, str) else ""


def _int(item: dict[str, Any], name: str) -> int:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadItem(name)
    return value


def _opt_int(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _num(item: dict[str, Any], name: str) -> float:
    value = _opt_num(item, name)
    if value is None:
        raise _BadItem(name)
    return value


def _opt_num(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # json.loads makes ints of any size; float() refuses past ~1e308
        return None


def _bool(item: dict[str, Any], name: str) -> bool:
    value = item.get(name)
    if not isinstance(value, bool):
        raise _BadItem(name)
    return value


def _opt_bool(item: dict[str, Any], name: str) -> bool | None:
    value = item.get(name)
    return value if isinstance(value, bool) else None


def _state(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if value not in STATES:
        raise _BadItem(name)
    return STATES[STATES.index(value)]  # the shared constant, not the decoded copy


def _timestamp(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):  # a naive year-1 date fails in mktime
        return None


def _items(
    data: object, field: str, parse: Callable[[dict[str, Any]], T]
) -> tuple[tuple[T, ...], int]:
    if field == "":  # a bare array (v1); an object, even one with a "" key, is not one
        if not isinstance(data, list):
            raise ParseError("expected a JSON array")
        raw: object = data
    elif isinstance(data, dict):
        raw = data.get(field)
    else:
        raise ParseError("expected a JSON object")
    if not isinstance(raw, list):
        raise ParseError(f"missing array {field!r}")
    out: list[T] = []
    skipped = 0
    for item in raw:
        try:
            if not isinstance(item, dict):
                raise _BadItem("item")
            out.append(parse(item))
        except _BadItem:
            skipped += 1
    return tuple(out), skipped


def _v2_project(item: dict[str, Any]) -> Project:
    return Project(
        id=_str(item, "id"),
        name=_opt_str(item, "name"),
        region_id=_opt_str(item, "region_id"),
        platform_id=_opt_str(item, "platform_id"),
        org_id=_opt_str(item, "org_id"),
        pg_version=_int(item, "pg_version"),
        size_bytes=_opt_int(item, "synthetic_storage_size"),
        updated_at=_opt_str(item, "updated_at"),
        compute_last_active_at=_opt_str(item, "compute_last_active_at"),
        deleted_at=_timestamp(item, "deleted_at"),
        recoverable_until=_timestamp(item, "recoverable_until"),
    )


def _v1_project(item: dict[str, Any]) -> Project:
    return Project(
        id=_str(item, "id"),
        name=_opt_str(item, "name"),
        region_id=_opt_str(item, "region_id"),
        platform_id=_opt_str(item, "platform_id"),
        org_id="",
        pg_version=_int(item, "pg_version"),
        size_bytes=_opt_int(item, "size"),
        state=_state(item, "current_state"),
        pooler_enabled=_bool(item, "pooler_enabled"),
        updated_at=_opt_str(item, "updated_at"),
    )


def _endpoint(item: dict[str, Any]) -> Endpoint:
    return Endpoint(
        id=_str(item, "id"),
        project_id=_str(item, "project_id"),
        branch_id=_str(item, "branch_id"),
        type=_str(item, "type"),
        state=_state(item, "current_state"),
        # Deprecated by Neon and due to vanish from answers: absent, never a reason to skip.
        pooler_enabled=_opt_bool(item, "pooler_enabled"),
        autoscaling_limit_min_cu=_num(item, "autoscaling_limit_min_cu"),
        autoscaling_limit_max_cu=_num(item, "autoscaling_limit_max_cu"),
        suspend_timeout_seconds=_opt_num(item, "suspend_timeout_seconds"),
        last_active_timestamp=_timestamp(item, "last_active"),
    )


def parse_v2_projects_page(data: object) -> ProjectPage:
    """``GET /api/v2/projects``: projects, the next cursor, and ids Neon could not load in time."""
    projects, skipped = _items(data, "projects", _v2_project)
    assert isinstance(data, dict)
    pagination = data.get("pagination")
    cursor = pagination.get("cursor") if isinstance(pagination, dict) else None
    unavailable = data.get("unavailable_project_ids")
    return ProjectPage(
        projects=projects,
        cursor=cursor if isinstance(cursor, str) and cursor else None,
        unavailable_project_ids=(
            tuple(i for i in unavailable if isinstance(i, str))
            if isinstance(unavailable, list)
            else ()
        ),
        skipped=skipped,
    )


def parse_v2_endpoints(data: object) -> tuple[tuple[Endpoint, ...], int]:
    """``GET /api/v2/projects/{id}/endpoints`` -> (endpoints, items skipped)."""
    return _items(data, "endpoints", _endpoint)


def parse_v1_projects(data: object) -> tuple[tuple[Project, ...], int]:
    """``GET /api/v1/projects``: the bare array of the original API-key document."""
    return _items(data, "", _v1_project)


def _branch(item: dict[str, Any]) -> Branch:
    return Branch(
        id=_str(item, "id"),
        project_id=_str(item, "project_id"),
        name=_opt_str(item, "name"),
        state=_str(item, "current_state"),
        default=_bool(item, "default"),
        protected=_bool(item, "protected"),
        logical_size_bytes=_opt_int(item, "logical_size"),
    )


def parse_v2_branches_page(data: object) -> BranchPage:
    """``GET /api/v2/projects/{id}/branches``: branches and ``pagination.next`` (None = last)."""
    branches, skipped = _items(data, "branches", _branch)
    assert isinstance(data, dict)
    pagination = data.get("pagination")
    cursor = pagination.get("next") if isinstance(pagination, dict) else None
    return BranchPage(branches, cursor if isinstance(cursor, str) and cursor else None, skipped)


def _storage_byte_seconds(byte_hours: float | None) -> float | None:
    return None if byte_hours is None else byte_hours * 3600.0


def parse_v2_project_usage(data: object) -> Usage:
    """``GET /api/v2/projects/{id}``: the billing-period usage fields of the project."""
    if not isinstance(data, dict) or not isinstance(data.get("project"), dict):
        raise ParseError("missing object 'project'")
    p: dict[str, Any] = data["project"]
    return Usage(
        active_time_seconds=_opt_num(p, "active_time_seconds"),
        compute_time_seconds=_opt_num(p, "compute_time_seconds"),
        written_data_bytes=_opt_num(p, "written_data_bytes"),
        data_transfer_bytes=_opt_num(p, "data_transfer_bytes"),
        data_storage_byte_seconds=_storage_byte_seconds(_opt_num(p, "data_storage_bytes_hour")),
    )


def _period_usage(periods: object) -> Usage:
    """The usage of the latest billing period: its timeframes summed, per metric."""
    if not isinstance(periods, list):
        raise _BadItem("periods")
    current = [p for p in periods if isinstance(p, dict) and isinstance(p.get("period_start"), str)]
    if not current:
        return Usage()
    latest = max(current, key=lambda p: _timestamp(p, "period_start") or 0.0)
    frames = latest.get("consumption")
    if not isinstance(frames, list):
        raise _BadItem("consumption")
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
            value = _opt_num(frame, name)
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
    items, skipped = _items(
        data,
        "projects",
        lambda item: (_str(item, "project_id"), _period_usage(item.get("periods"))),
    )
    return dict(items), skipped


def parse_auth(data: object) -> AuthDetails:
    """``GET /auth`` (AuthDetailsResponse): both fields are required."""
    if not isinstance(data, dict):
        raise ParseError("expected a JSON object")
    try:
        return AuthDetails(
            account_id=_str(data, "account_id"), auth_method=_str(data, "auth_method")
        )
    except _BadItem as exc:
        raise ParseError(f"missing {exc}") from None


def parse_api_keys(owner: str) -> Callable[[object], tuple[tuple[ApiKey, ...], int]]:
    """A parser of one key list (a bare array), each key owned by ``owner``."""

    def key(item: dict[str, Any]) -> ApiKey:
        return ApiKey(
            id=_int(item, "id"),
            name=_opt_str(item, "name"),
            owner=owner,
            created_at=_timestamp(item, "created_at"),
            last_used_at=_timestamp(item, "last_used_at"),
            last_used_from_addr=_opt_str(item, "last_used_from_addr"),
            project_id=_opt_str(item, "project_id"),
        )

    return lambda data: _items(data, "", key)


def parse_organization_ids(data: object) -> tuple[tuple[str, ...], int]:
    """``GET /users/me/organizations`` (OrganizationsResponse): the organization ids."""
    return _items(data, "organizations", lambda item: _str(item, "id"))
