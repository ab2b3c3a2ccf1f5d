"""The simulated Neon control plane's data: projects, endpoints and branches as plain records.

The world that holds and changes them is in ``world.py``; their JSON renderings in
``renderings.py``; the HTTP side in ``app.py``. Generated data is deterministic for a given seed
(ids, names, versions, regions, sizes, states); only absolute timestamps depend on the wall clock
at construction time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

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
REGION_IDS = tuple(REGIONS)
REGION_WEIGHTS = (5, 3, 3, 2, 1)

# Fixed base for generated creation times, so that data is reproducible.
BASE_TIME = datetime(2023, 1, 2, tzinfo=UTC)


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
    expires_at: datetime | None = None  # with ttl_interval_seconds: early access at Neon
    ttl_interval_seconds: int | None = None
    # A deleted branch's ``recovery`` (deleted_at, recoverable_until, deletion_method); such a
    # branch is in ``SimProject.deleted_branches``, listed only with ``include_deleted=true``.
    recovery: dict[str, str] | None = None


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
    deleted_branches: list[SimBranch] = field(default_factory=list)
    integrations: list[str] = field(default_factory=list)  # ApplicationType names installed
    data_api: bool = False  # whether the advisors can analyse it
    advisor_issues: list[dict[str, object]] = field(default_factory=list)  # AdvisorIssue

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
