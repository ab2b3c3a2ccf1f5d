"""What the exporter knows: the latest good snapshot per key, and each key's health.

Snapshots are immutable and replaced whole, so a scrape never sees half a poll. The merged view
(every project once, however many keys see it) is computed once per change and cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .neon.models import Branch, Endpoint, Project, Usage

_NOTHING: Mapping[str, Any] = MappingProxyType({})  # an empty default of any value type


def _nothing() -> Mapping[str, Any]:
    return _NOTHING


DETAIL_KINDS = ("endpoints", "branches", "usage")
"""Per-project detail refreshed in rotation within the request budget (poller.py)."""


@dataclass(frozen=True, slots=True)
class KeySnapshot:
    """One successful poll of one key.

    The project list is whole and fresh; per-project detail may be carried over from earlier
    polls, and ``fetched`` says when each piece was last fetched.
    """

    key: str
    taken_at: float  # wall-clock time the poll finished
    projects: Mapping[str, Project]
    endpoints: Mapping[str, tuple[Endpoint, ...]]  # by project id; absent = not fetched
    branches: Mapping[str, tuple[Branch, ...]] = field(default_factory=_nothing)
    usage: Mapping[str, Usage] = field(default_factory=_nothing)
    # kind -> project id -> wall-clock time that detail was last fetched
    fetched: Mapping[str, Mapping[str, float]] = field(default_factory=_nothing)
    # project id -> (updated_at, compute_last_active_at) of its list entry when its endpoints
    # and branches were last fetched: a list entry that differs marks the project changed.
    stamps: Mapping[str, tuple[str, str]] = field(default_factory=_nothing)
    # When consumption history last answered 403 (not on this plan); None = allowed/unknown.
    consumption_denied_at: float | None = None

    def detail_status(self) -> dict[str, tuple[float | None, int]]:
        """Per kind fetched: (time of the oldest detail, projects with none yet)."""
        out: dict[str, tuple[float | None, int]] = {}
        for kind, times in self.fetched.items():
            have = [t for pid in self.projects if (t := times.get(pid)) is not None]
            out[kind] = (min(have) if have else None, len(self.projects) - len(have))
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


@dataclass(frozen=True, slots=True)
class View:
    """Everything the collectors render, merged over keys."""

    projects: Mapping[str, Project]
    endpoints: Mapping[str, tuple[Endpoint, ...]]
    projects_per_key: Mapping[str, int]
    branches: Mapping[str, tuple[Branch, ...]] = field(default_factory=_nothing)
    usage: Mapping[str, Usage] = field(default_factory=_nothing)

    def __reduce__(self) -> tuple[object, ...]:
        # Plain dicts cross a process boundary (mappingproxy does not pickle).
        return (_view_of_dicts, tuple(dict(getattr(self, f)) for f in _VIEW_FIELDS))


_VIEW_FIELDS = ("projects", "endpoints", "projects_per_key", "branches", "usage")


def _view_of_dicts(*maps: dict[str, object]) -> View:
    return View(*(MappingProxyType(m) for m in maps))  # type: ignore[arg-type]


_EMPTY: Mapping[str, tuple[Endpoint, ...]] = MappingProxyType({})


@dataclass(slots=True)
class State:
    keys: tuple[str, ...]
    max_age: float
    clock: Callable[[], float] = time.time
    # Renderers cache on these: ``generation`` moves when the polled data changes,
    # ``health_generation`` when any key's health does (every poll, at least).
    generation: int = 0
    health_generation: int = 0
    _snapshots: dict[str, KeySnapshot] = field(default_factory=dict)
    _health: dict[str, KeyHealth] = field(default_factory=dict)
    _view: tuple[int, View] | None = None

    def __post_init__(self) -> None:
        self._health = {k: KeyHealth() for k in self.keys}

    def set_keys(self, keys: tuple[str, ...]) -> None:
        """A reload: keys that stay keep data and health, removed keys vanish, new start empty."""
        for gone in set(self._health) - set(keys):
            del self._health[gone]
            self._snapshots.pop(gone, None)
        self._health = {k: self._health.get(k) or KeyHealth() for k in keys}
        self.keys = keys
        self.generation += 1
        self.health_generation += 1

    def health(self, key: str) -> KeyHealth:
        return self._health[key]

    def all_health(self) -> Mapping[str, KeyHealth]:
        return MappingProxyType(self._health)

    def snapshot(self, key: str) -> KeySnapshot | None:
        return self._snapshots.get(key)

    def ready(self) -> bool:
        return all(h.poll_attempted for h in self._health.values())

    def record_poll(self, key: str, snapshot: KeySnapshot | None, duration: float) -> None:
        """A poll finished: with a snapshot it succeeded and replaces the old one whole."""
        h = self._health[key]
        h.poll_attempted, h.poll_duration = True, duration
        h.poll_success = snapshot is not None
        if snapshot is not None:
            self.publish(key, snapshot)
            h.last_success = snapshot.taken_at
        self.health_generation += 1

    def publish(self, key: str, snapshot: KeySnapshot) -> None:
        """Serve ``snapshot`` for ``key`` from now on: at the end of a poll, or in its middle
        once the projects that changed have been fetched (see ``fetch_snapshot``)."""
        old = self._snapshots.get(key)
        self._snapshots[key] = snapshot
        self._health[key].details = snapshot.detail_status()
        # An unchanged answer need not re-render thousands of series.
        if old is None or _data(old) != _data(snapshot):
            self.generation += 1

    def set_budget(self, key: str, per_minute: float) -> None:
        self._health[key].budget_per_minute = per_minute
        self.health_generation += 1

    def record_key_answer(self, key: str, *, valid: bool) -> bool:
        """Neon accepted (any 2xx) or rejected (401) the key. True when the validity changed."""
        h = self._health[key]
        changed = h.valid is not valid
        if not valid:
            h.last_rejected = self.clock()
        if changed or not valid:
            h.valid = valid
            self.health_generation += 1
        return changed

    def expire(self) -> list[str]:
        """Drop snapshots older than ``max_age``; returns the keys whose data was dropped."""
        now = self.clock()
        stale = [k for k, s in self._snapshots.items() if now - s.taken_at > self.max_age]
        for key in stale:
            del self._snapshots[key]
        if stale:
            self.generation += 1
        return stale

    def view(self) -> View:
        self.expire()
        if self._view is not None and self._view[0] == self.generation:
            return self._view[1]
        projects: dict[str, Project] = {}
        endpoints: dict[str, tuple[Endpoint, ...]] = {}
        branches: dict[str, tuple[Branch, ...]] = {}
        usage: dict[str, Usage] = {}
        # Oldest first, so where two keys see one project the freshest answer wins.
        for snap in sorted(self._snapshots.values(), key=lambda s: s.taken_at):
            projects.update(snap.projects)
            for target, source in (
                (endpoints, snap.endpoints),
                (branches, snap.branches),
                (usage, snap.usage),
            ):
                _merge(target, source, snap.projects)  # type: ignore[arg-type]
        view = View(
            projects=MappingProxyType(projects),
            endpoints=MappingProxyType(endpoints) if endpoints else _EMPTY,
            projects_per_key=MappingProxyType(
                {k: len(s.projects) for k, s in self._snapshots.items()}
            ),
            branches=MappingProxyType(branches),
            usage=MappingProxyType(usage),
        )
        self._view = (self.generation, view)
        return view


def _data(s: KeySnapshot) -> tuple[object, ...]:
    return (s.projects, s.endpoints, s.branches, s.usage)


def _merge(
    target: dict[str, object], source: Mapping[str, object], projects: Mapping[str, Project]
) -> None:
    for pid in projects:
        value = source.get(pid)
        if value is not None:
            target[pid] = value
        else:
            target.pop(pid, None)
