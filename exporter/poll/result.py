"""What is served: a key's poll result, its health, and the merged view the exposition renders.

Frozen and replaced whole, so a scrape never sees half a poll (see ``state.py``). Data only:
the areas and the exposition read these types (type-checking imports), the poll builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from ..neon.models import AuthDetails, Project

T = TypeVar("T")
NOTHING: Mapping[str, Any] = MappingProxyType({})  # an empty default of any value type


def _nothing() -> Mapping[str, Any]:
    return NOTHING


@dataclass(frozen=True, slots=True)
class AccountPiece:
    """An account-level area's data for one key (not per project: deleted projects, API keys,
    spending limits), with when it was fetched and, while its fetches fail, since when."""

    value: Any
    fetched_at: float
    failing_since: float | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """One successful poll of one key: what is served for it.

    The project list is whole and fresh; per-project detail (by area) may be carried over
    from earlier polls, and ``fetched`` says when each piece was last fetched.
    """

    key: str
    taken_at: float  # wall-clock time the poll finished
    projects: Mapping[str, Project]
    # area -> project id -> that area's detail; absent = not fetched (or not reported)
    detail: Mapping[str, Mapping[str, Any]] = field(default_factory=_nothing)
    # area -> project id -> wall-clock time that detail was last fetched
    fetched: Mapping[str, Mapping[str, float]] = field(default_factory=_nothing)
    # area -> project id -> when fetching that detail started failing; a good fetch clears it.
    # Such detail is still served (the last good fetch) until it is ``max_age`` old.
    failed: Mapping[str, Mapping[str, float]] = field(default_factory=_nothing)
    # area -> the first error it met in this poll (for the log and the landing page)
    errors: Mapping[str, str] = field(default_factory=_nothing)
    # account-level area -> its data for this key (absent until first fetched)
    account: Mapping[str, AccountPiece] = field(default_factory=_nothing)
    left_out: int = 0  # listed projects that --projects.* left out
    # area -> seconds from its first request to its last answer in this poll (projects: the list)
    durations: Mapping[str, float] = field(default_factory=_nothing)

    def area_success(self) -> dict[str, bool]:
        """Per area fetched: True while none of its requests is failing."""
        out = {area: not self.failed.get(area) for area in self.fetched}
        out.update((area, p.failing_since is None) for area, p in self.account.items())
        return out

    def detail_status(self) -> dict[str, tuple[float | None, int]]:
        """Per area fetched: (time of the oldest detail, projects with none yet)."""
        out: dict[str, tuple[float | None, int]] = {}
        for area, times in self.fetched.items():
            have = [t for pid in self.projects if (t := times.get(pid)) is not None]
            out[area] = (min(have) if have else None, len(self.projects) - len(have))
        return out


@dataclass(slots=True)
class KeyHealth:
    valid: bool | None = None  # None until Neon has answered this key once
    last_rejected: float | None = None
    poll_attempted: bool = False
    poll_success: bool | None = None
    last_success: float | None = None
    poll_duration: float | None = None
    budget_per_minute: float | None = None
    # kind -> (oldest detail fetched at, projects with no detail of that kind yet)
    details: Mapping[str, tuple[float | None, int]] = field(default_factory=dict)
    # area ("projects", "endpoints", ...) -> True while none of its requests is failing
    areas: Mapping[str, bool] = field(default_factory=dict)
    # area -> seconds its requests took in the last poll that made any
    area_seconds: Mapping[str, float] = field(default_factory=dict)
    last_error: str | None = None  # why the last poll failed; None after a good poll
    # ``poll_max_age`` counts from here: the end of the last successful poll, or, before the
    # first one, the first early publish. An early publish in a poll that then fails does not
    # move it, so expiry and NeonExporterDataStale agree.
    data_since: float | None = None
    left_out: int | None = None  # projects of the last list that --projects.* left out
    auth: AuthDetails | None = None  # what kind of key, whose: the key probe's GET /auth
    # Wall time the key file was last (re-)read: after a rotation, that the new key is in use.
    key_file_read_at: float | None = None


@dataclass(frozen=True, slots=True)
class View:
    """Everything the collectors render, merged over keys."""

    projects: Mapping[str, Project]
    projects_per_key: Mapping[str, int]
    detail: Mapping[str, Mapping[str, Any]] = field(default_factory=_nothing)  # area -> pid ->
    account: Mapping[str, Mapping[str, Any]] = field(default_factory=_nothing)  # area -> key ->

    def of(self, area: str) -> Mapping[str, Any]:
        """One area's detail by project id (empty when the area is off or has none yet)."""
        return self.detail.get(area, NOTHING)

    def per_key(self, area: str) -> Mapping[str, Any]:
        """One account-level area's data by key name (empty when off or none yet)."""
        return self.account.get(area, NOTHING)


def same(old: T | None, new: T) -> T:
    """``old`` when it equals ``new``: what a poll fetched again unchanged stays the very object
    served before. The comparison of results (``State.publish``) and the exposition's per-project
    one then find most data identical at a pointer's cost, on the event loop, instead of
    comparing every field of every project; this compares each once, as its page or detail
    arrives (a page at a time, between awaits). The new copy is freed young."""
    return old if old is not None and old == new else new
