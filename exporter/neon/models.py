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
    # Kept as Neon wrote them: only compared, to spend the request budget on changed projects.
    updated_at: str = ""
    compute_last_active_at: str = ""
    # Set only on deleted projects (``GET /projects?recoverable=true``): Unix times.
    deleted_at: float | None = None
    recoverable_until: float | None = None
    # Free with the v2 list; None when Neon did not send them (times as Unix times).
    quota: Quota | None = None  # None too when every limit is zero or absent: unlimited
    quota_reset_at: float | None = None
    maintenance_starts_at: float | None = None
    history_retention_seconds: int | None = None
    active_time_seconds: int | None = None  # the list's active_time: this billing period
    permission: str = ""  # effective_project_permission (shared projects); "" when omitted
    # The list's ``integrations`` and ``applications`` maps (v2): what is installed, sorted.
    integrations: tuple[str, ...] = ()


QUOTA_FIELDS = (
    "active_time_seconds",
    "compute_time_seconds",
    "written_data_bytes",
    "data_transfer_bytes",
    "logical_size_bytes",
)


@dataclass(frozen=True, slots=True)
class Quota:
    """A project's ``settings.quota``: each limit, None where unlimited (zero or absent)."""

    active_time_seconds: int | None = None
    compute_time_seconds: int | None = None
    written_data_bytes: int | None = None
    data_transfer_bytes: int | None = None
    logical_size_bytes: int | None = None  # enforced per branch


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    project_id: str
    branch_id: str
    type: str
    state: str
    # Deprecated by Neon (pooling is reached through the -pooler host name): None when the
    # answer no longer carries it, and then its series is absent.
    pooler_enabled: bool | None
    autoscaling_limit_min_cu: float
    autoscaling_limit_max_cu: float
    suspend_timeout_seconds: float | None
    last_active_timestamp: float | None


@dataclass(frozen=True, slots=True)
class Branch:
    id: str
    project_id: str
    name: str
    state: str  # Neon's current_state: init, resetting, ready, archived (open-ended)
    default: bool
    protected: bool
    logical_size_bytes: int | None  # absent until Neon has computed it
    # Early access at Neon: when the branch expires (Unix time) and the TTL it was set with.
    expires_at: float | None = None
    ttl_interval_seconds: int | None = None
    # Only on deleted branches (``include_deleted=true``): its ``recovery``.
    recovery: BranchRecovery | None = None


@dataclass(frozen=True, slots=True)
class BranchRecovery:
    """A deleted branch's ``recovery`` (``BranchRecoveryInfo``): Unix times and how it went."""

    deleted_at: float
    recoverable_until: float
    deletion_method: str  # user, ttl (the document's enum; kept as sent)


USAGE_FIELDS = (
    "active_time_seconds",
    "compute_time_seconds",
    "written_data_bytes",
    "data_transfer_bytes",
    "data_storage_byte_seconds",
)


@dataclass(frozen=True, slots=True)
class Usage:
    """Billing-period usage of one project; None where Neon did not report a value."""

    active_time_seconds: float | None = None
    compute_time_seconds: float | None = None
    written_data_bytes: float | None = None
    data_transfer_bytes: float | None = None
    data_storage_byte_seconds: float | None = None  # Neon's data_storage_bytes_hour x 3600


@dataclass(frozen=True, slots=True)
class BranchPage:
    branches: tuple[Branch, ...]
    next: str | None
    skipped: int


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


def derive_pooler(endpoints: tuple[Endpoint, ...]) -> bool | None:
    """v2 project pooler flag: whether any endpoint reports its pooler enabled; None when no
    endpoint reports the (deprecated) field at all."""
    reported = [e.pooler_enabled for e in endpoints if e.pooler_enabled is not None]
    return any(reported) if reported else None


@dataclass(frozen=True, slots=True)
class AuthDetails:
    """``GET /auth``: what kind of credential the key is and whose (never the key itself)."""

    account_id: str  # the user's id for a personal key, the organization's for an org key
    auth_method: str  # api_key_user, api_key_org, ... as Neon names it


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One listed API key (``GET /api_keys``, ``GET /organizations/{org_id}/api_keys``).

    Neon's list never carries the secret or its prefix; nothing here could carry one."""

    id: int
    name: str
    owner: str  # "account" (a personal key) or the organization id that owns it
    created_at: float | None
    last_used_at: float | None  # None: never used
    last_used_from_addr: str  # exposed only with --collector.api_keys_address
    project_id: str = ""  # an organization key limited to one project
