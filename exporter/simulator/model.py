"""The in-memory world of the simulated Neon control plane.

Everything here is plain data plus a few helpers; the HTTP side lives in ``app.py``. Generated data
is deterministic for a given seed (ids, names, versions, regions, sizes, states); only absolute
timestamps depend on the wall clock at construction time.
"""

from __future__ import annotations

import random
from bisect import bisect_right, insort
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ENDPOINT_STATES = ("init", "active", "idle")

GIB = 1024**3

ADJECTIVES = (
    "aged", "ancient", "autumn", "billowing", "bitter", "black", "blue", "bold", "broad",
    "broken", "calm", "cold", "cool", "crimson", "curly", "damp", "dark", "dawn", "delicate",
    "divine", "dry", "empty", "falling", "fancy", "flat", "floral", "fragrant", "frosty",
    "gentle", "green", "hidden", "holy", "icy", "jolly", "late", "lingering", "little",
    "lively", "long", "lucky", "misty", "morning", "muddy", "mute", "nameless", "noisy", "odd",
    "old", "orange", "patient", "plain", "polished", "proud", "purple", "quiet", "rapid",
    "raspy", "red", "restless", "rough", "round", "royal", "shiny", "shrill", "shy", "silent",
    "small", "snowy", "soft", "solitary", "sparkling", "spring", "square", "steep", "still",
    "summer", "super", "sweet", "throbbing", "tight", "tiny", "twilight", "wandering", "weathered",
    "white", "wild", "winter", "wispy", "withered", "yellow", "young",
)  # fmt: skip
NOUNS = (
    "art", "band", "bar", "base", "bird", "block", "boat", "bonus", "bread", "breeze", "brook",
    "bush", "butterfly", "cake", "cell", "cherry", "cloud", "credit", "darkness", "dawn", "dew",
    "disk", "dream", "dust", "feather", "field", "fire", "firefly", "flower", "fog", "forest",
    "frog", "frost", "glade", "glitter", "grass", "hall", "hat", "haze", "heart", "hill",
    "king", "lab", "lake", "leaf", "limit", "math", "meadow", "mode", "moon", "morning",
    "mountain", "mouse", "mud", "night", "paper", "pine", "poetry", "pond", "queen", "rain",
    "recipe", "resonance", "rice", "river", "salad", "scene", "sea", "shadow", "shape", "silence",
    "sky", "smoke", "snow", "snowflake", "sound", "star", "sun", "sunset", "surf", "term",
    "thunder", "tooth", "tree", "truth", "union", "unit", "violet", "voice", "water",
    "waterfall", "wave", "wildflower", "wind", "wood",
)  # fmt: skip

# region id -> (human name used by the v1 API, proxy host)
REGIONS: dict[str, tuple[str, str]] = {
    "aws-us-east-2": ("US East (Ohio)", "us-east-2.aws.neon.tech"),
    "aws-us-east-1": ("US East (N. Virginia)", "us-east-1.aws.neon.tech"),
    "aws-us-west-2": ("US West (Oregon)", "us-west-2.aws.neon.tech"),
    "aws-eu-central-1": ("Europe (Frankfurt)", "eu-central-1.aws.neon.tech"),
    "aws-ap-southeast-1": ("Asia Pacific (Singapore)", "ap-southeast-1.aws.neon.tech"),
}
_REGION_IDS = tuple(REGIONS)
_REGION_WEIGHTS = (5, 3, 3, 2, 1)

# Fixed base for generated creation times, so that data is reproducible.
_BASE_TIME = datetime(2023, 1, 2, tzinfo=UTC)


def rfc3339(ts: datetime) -> str:
    """Format a UTC datetime the way Neon does (second precision, ``Z`` suffix)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def region_name(region_id: str) -> str:
    return REGIONS.get(region_id, (region_id, ""))[0]


def proxy_host(region_id: str) -> str:
    known = REGIONS.get(region_id)
    if known is not None:
        return known[1]
    # "aws-xx-yyyy-n" -> "xx-yyyy-n.aws.neon.tech"; anything else gets a plausible host too.
    platform, _, rest = region_id.partition("-")
    return f"{rest or platform}.{platform}.neon.tech"


@dataclass
class SimEndpoint:
    """One compute endpoint of a simulated project."""

    id: str
    project_id: str
    branch_id: str
    region_id: str
    type: str  # "read_write" | "read_only"
    state: str  # "init" | "active" | "idle"
    pooler_enabled: bool
    created_at: datetime
    updated_at: datetime
    last_active: datetime | None = None
    min_cu: float = 0.25
    max_cu: float = 2.0
    suspend_timeout_seconds: int = 300
    # Whether answers still carry the deprecated pooler_enabled and pooler_mode (sunset
    # 2026-06-20; pooling is the -pooler host name). False answers as Neon will once they go.
    pooler_fields: bool = True

    def last_active_at(self, now: datetime) -> datetime | None:
        """When the endpoint was last active; an active endpoint is active right now."""
        if self.state == "active":
            return now
        return self.last_active


@dataclass
class SimBranch:
    """One branch of a simulated project."""

    id: str
    project_id: str
    name: str
    default: bool
    created_at: datetime
    updated_at: datetime
    logical_size: int | None
    protected: bool = False
    state: str = "ready"


@dataclass
class SimProject:
    """One simulated project with its endpoints and branches."""

    id: str
    name: str
    pg_version: int
    region_id: str
    org_id: str | None
    size_bytes: int
    created_at: datetime
    updated_at: datetime
    owner_id: str
    endpoints: list[SimEndpoint] = field(default_factory=list)
    branches: list[SimBranch] = field(default_factory=list)
    visible_to: frozenset[str] | None = None  # None: every key sees it
    active_time_seconds: int = 0
    compute_time_seconds: int = 0
    written_data_bytes: int = 0
    data_transfer_bytes: int = 0
    data_storage_bytes_hour: int = 0
    branch_logical_size_limit_mib: int = 65536
    history_retention_seconds: int = 86400
    role_id: int = 0  # first v1 role id; the v1 rendering derives role/database ids from it
    # settings.quota (ProjectQuota: limit name -> value; empty: none) and the maintenance window
    quota: dict[str, int] = field(default_factory=dict)
    maintenance_starts_at: datetime | None = None

    def visible(self, key_name: str) -> bool:
        return self.visible_to is None or key_name in self.visible_to

    def compute_last_active_at(self, now: datetime) -> datetime | None:
        times = [t for ep in self.endpoints if (t := ep.last_active_at(now)) is not None]
        return max(times) if times else None

    def v1_state(self) -> str:
        """The v1 ``current_state``: active if any endpoint is, else init if any is, else idle."""
        states = {ep.state for ep in self.endpoints}
        if "active" in states:
            return "active"
        if "init" in states:
            return "init"
        return "idle"


@dataclass
class Fault:
    """A scripted misbehaviour of the simulated API (see ``Simulator.inject``)."""

    status: int | None = None
    route: str | None = None
    key_name: str | None = None
    times: int | None = 1
    retry_after: str | None = None
    delay: float = 0.0
    body: bytes | None = None
    content_type: str = "application/json"
    stall: float = 0.0  # seconds to stop for after the headers and half the body

    def matches(self, route: str, key_name: str | None) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.route is not None and self.route != route:
            return False
        return self.key_name is None or self.key_name == key_name


@dataclass(frozen=True)
class RequestRecord:
    """One API request served by the simulator."""

    time: float  # time.monotonic() when the request arrived
    key_name: str | None
    method: str
    route: str  # template without the version prefix, e.g. "/projects/{project_id}"
    status: int
    version: str = "v2"


class World:
    """Projects, endpoints and id generation; the non-HTTP half of the simulator."""

    def __init__(self, seed: int, owner_id: str) -> None:
        self.rng = random.Random(seed)
        self.owner_id = owner_id
        self.projects: dict[str, SimProject] = {}
        self.sorted_ids: list[str] = []
        self.endpoints: dict[str, SimEndpoint] = {}
        self._used_ids: set[str] = set()
        self._next_role_id = 683636

    # -- ids -----------------------------------------------------------------------------------

    def new_id(self, prefix: str = "") -> str:
        rng = self.rng
        while True:
            words = f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"
            ident = f"{prefix}{words}-{rng.randrange(1_000_000):06d}"
            if ident not in self._used_ids:
                self._used_ids.add(ident)
                return ident

    # -- generation ----------------------------------------------------------------------------

    def generate(self, count: int, endpoints_per_project: int, org_id: str | None) -> None:
        rng = self.rng
        now = utcnow()
        for _ in range(count):
            pid = self.new_id()
            created = _BASE_TIME + timedelta(seconds=rng.randrange(500 * 86400))
            size = 0 if rng.random() < 0.1 else int(rng.random() ** 3 * 50 * GIB)
            project = SimProject(
                id=pid,
                name=pid if rng.random() < 0.5 else f"{rng.choice(NOUNS)}-{rng.choice(NOUNS)}",
                pg_version=rng.choices((14, 15, 16, 17), weights=(1, 2, 4, 3))[0],
                region_id=rng.choices(_REGION_IDS, weights=_REGION_WEIGHTS)[0],
                org_id=org_id,
                size_bytes=size,
                created_at=created,
                updated_at=max(created, now - timedelta(seconds=rng.randrange(30 * 86400))),
                owner_id=self.owner_id,
            )
            self._fill_usage(project)
            for index in range(endpoints_per_project):
                roll = rng.random()
                state = "active" if roll < 0.2 else "init" if roll < 0.23 else "idle"
                endpoint = self._add_endpoint(project, index, state, rng.random() < 0.3, now)
                if endpoint.last_active is not None:
                    endpoint.updated_at = max(endpoint.updated_at, endpoint.last_active)
                project.updated_at = max(project.updated_at, endpoint.updated_at)
            self._insert(project)

    def omit_pooler_fields(self, share: float, rng: random.Random) -> None:
        """Let about ``share`` of the projects' endpoints answer without the deprecated pooler
        fields. Its own generator, so the rest of the generated world does not shift."""
        for pid in self.sorted_ids:
            if rng.random() < share:
                for endpoint in self.projects[pid].endpoints:
                    endpoint.pooler_fields = False

    def _fill_usage(self, project: SimProject) -> None:
        rng = self.rng
        project.active_time_seconds = rng.randrange(3600 * 24 * 20)
        project.compute_time_seconds = project.active_time_seconds // 4
        project.written_data_bytes = rng.randrange(10 * GIB)
        project.data_transfer_bytes = rng.randrange(5 * GIB)
        project.data_storage_bytes_hour = project.size_bytes * rng.randrange(1, 24 * 30)

    def _add_endpoint(
        self, project: SimProject, index: int, state: str, pooler: bool, now: datetime
    ) -> SimEndpoint:
        rng = self.rng
        created = project.created_at + timedelta(seconds=index * 3600)
        if state == "active":
            last_active: datetime | None = now
        elif state == "idle" and rng.random() < 0.85:
            last_active = now - timedelta(seconds=rng.randrange(60, 14 * 86400))
        else:
            last_active = None
        endpoint = SimEndpoint(
            id=self.new_id("ep-"),
            project_id=project.id,
            branch_id=self.new_id("br-"),
            region_id=project.region_id,
            type="read_write" if index == 0 else "read_only",
            state=state,
            pooler_enabled=pooler,
            created_at=created,
            updated_at=max(created, project.updated_at),
            last_active=last_active,
            max_cu=rng.choice((1.0, 2.0, 4.0, 8.0)),
        )
        project.endpoints.append(endpoint)
        self.endpoints[endpoint.id] = endpoint
        return endpoint

    def _insert(self, project: SimProject) -> None:
        # One branch per endpoint (the first is the default ``main``), derived without the
        # random generator so the rest of the generated data does not shift.
        branch_ids = list(dict.fromkeys(ep.branch_id for ep in project.endpoints))
        if not branch_ids:
            branch_ids = [f"br-{project.id}"[:60]]
        for i, branch_id in enumerate(branch_ids):
            self._add_branch(project, branch_id, "main" if i == 0 else f"dev-{i}", i == 0)
        project.role_id = self._next_role_id
        self._next_role_id += 2
        self.projects[project.id] = project
        insort(self.sorted_ids, project.id)

    @staticmethod
    def _add_branch(project: SimProject, branch_id: str, name: str, default: bool) -> SimBranch:
        index = len(project.branches)
        created = project.created_at + timedelta(seconds=index * 60)
        branch = SimBranch(
            id=branch_id,
            project_id=project.id,
            name=name,
            default=default,
            created_at=created,
            updated_at=max(created, project.updated_at),
            logical_size=project.size_bytes // (index + 1) if project.size_bytes else None,
        )
        project.branches.append(branch)
        return branch

    # -- mutation ------------------------------------------------------------------------------

    def add_branches(self, project_id: str, count: int) -> list[str]:
        project = self.projects[project_id]
        start = len(project.branches)
        return [
            self._add_branch(
                project, f"br-{project_id}-{start + i:04d}"[-60:], f"b{start + i}", False
            ).id
            for i in range(count)
        ]

    def add_project(
        self,
        *,
        project_id: str | None,
        name: str | None,
        pg_version: int,
        region_id: str,
        org_id: str | None,
        size_bytes: int,
        endpoints: int,
        visible_to: Collection[str] | None,
        pooler_fields: bool = True,
    ) -> str:
        if project_id is None:
            project_id = self.new_id()
        elif project_id in self.projects:
            raise ValueError(f"project {project_id!r} already exists")
        else:
            self._used_ids.add(project_id)
        now = utcnow()
        project = SimProject(
            id=project_id,
            name=name if name is not None else project_id,
            pg_version=pg_version,
            region_id=region_id,
            org_id=org_id,
            size_bytes=size_bytes,
            created_at=now,
            updated_at=now,
            owner_id=self.owner_id,
            visible_to=None if visible_to is None else frozenset(visible_to),
        )
        for index in range(endpoints):
            self._add_endpoint(project, index, "idle", False, now)
            project.endpoints[-1].last_active = None
            project.endpoints[-1].updated_at = now
            project.endpoints[-1].pooler_fields = pooler_fields
        self._insert(project)
        return project_id

    def remove_project(self, project_id: str) -> None:
        project = self.projects.pop(project_id)
        index = bisect_right(self.sorted_ids, project_id) - 1
        del self.sorted_ids[index]
        for ep in project.endpoints:
            self.endpoints.pop(ep.id, None)

    def set_endpoint(
        self, endpoint_id: str, *, state: str | None, pooler_enabled: bool | None
    ) -> None:
        endpoint = self.endpoints[endpoint_id]
        if state is not None and state not in ENDPOINT_STATES:
            raise ValueError(f"unknown endpoint state {state!r}")
        now = utcnow()
        changed = False
        if state is not None and state != endpoint.state:
            if endpoint.state == "active" or state == "active":
                endpoint.last_active = now
            endpoint.state = state
            changed = True
        if pooler_enabled is not None and pooler_enabled != endpoint.pooler_enabled:
            endpoint.pooler_enabled = pooler_enabled
            changed = True
        if changed:
            endpoint.updated_at = now
            self.projects[endpoint.project_id].updated_at = now

    def set_project(self, project_id: str, *, size_bytes: int | None, name: str | None) -> None:
        project = self.projects[project_id]
        if size_bytes is not None:
            project.size_bytes = size_bytes
        if name is not None:
            project.name = name
        project.updated_at = utcnow()

    def churn(self, rng: random.Random) -> None:
        """Flip a few random endpoint states, so that a demo looks alive."""
        if not self.sorted_ids:
            return
        flips = max(1, len(self.endpoints) // 20)
        for _ in range(flips):
            project = self.projects[rng.choice(self.sorted_ids)]
            if not project.endpoints:
                continue
            endpoint = rng.choice(project.endpoints)
            if endpoint.state == "idle":
                new_state = "init" if rng.random() < 0.05 else "active"
            else:
                new_state = "idle" if endpoint.state == "active" else "active"
            self.set_endpoint(endpoint.id, state=new_state, pooler_enabled=None)
            if new_state == "active":
                project.size_bytes += rng.randrange(1024 * 1024)

    # -- queries -------------------------------------------------------------------------------

    def page(
        self,
        *,
        key_name: str,
        cursor: str | None,
        limit: int,
        org_id: str | None,
        unavailable: Collection[str],
    ) -> list[SimProject]:
        start = 0 if cursor is None else bisect_right(self.sorted_ids, cursor)
        out: list[SimProject] = []
        for pid in self._iter_from(start):
            project = self.projects[pid]
            if pid in unavailable or not self._listed(project, key_name, org_id):
                continue
            out.append(project)
            if len(out) >= limit:
                break
        return out

    def _iter_from(self, start: int) -> Iterator[str]:
        ids = self.sorted_ids
        for i in range(start, len(ids)):
            yield ids[i]

    @staticmethod
    def _listed(project: SimProject, key_name: str, org_id: str | None) -> bool:
        if not project.visible(key_name):
            return False
        return org_id is None or project.org_id == org_id

    def unavailable_for(
        self, key_name: str, org_id: str | None, unavailable: Collection[str]
    ) -> list[str]:
        return sorted(
            pid
            for pid in unavailable
            if (p := self.projects.get(pid)) is not None and self._listed(p, key_name, org_id)
        )

    def org_ids(self) -> set[str]:
        """The organizations the account belongs to: those of its projects."""
        return {p.org_id for p in self.projects.values() if p.org_id is not None}

    def visible_project(self, project_id: str, key_name: str) -> SimProject | None:
        project = self.projects.get(project_id)
        if project is None or not project.visible(key_name):
            return None
        return project


# -- JSON renderings ---------------------------------------------------------------------------


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
