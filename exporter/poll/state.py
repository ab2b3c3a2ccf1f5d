"""What the exporter knows: the latest good result per key, and each key's health.

Snapshots are immutable and replaced whole, so a scrape never sees half a poll. The merged view
(every project once, however many keys see it) is computed once per change and cached.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..neon.models import AuthDetails, Project
from .result import NOTHING, AccountPiece, KeyHealth, PollResult, View

__all__ = ["AccountPiece", "KeyHealth", "PollResult", "State", "View"]


@dataclass(slots=True)
class State:
    keys: tuple[str, ...]
    max_age: float
    clock: Callable[[], float] = time.time
    # Renderers cache on these: ``generation`` moves when the polled data changes,
    # ``health_generation`` when any key's health does (every poll, at least).
    generation: int = 0
    health_generation: int = 0
    _results: dict[str, PollResult] = field(default_factory=dict)
    _health: dict[str, KeyHealth] = field(default_factory=dict)
    _view: tuple[int, View] | None = None
    _next_detail_expiry: float = math.inf  # when failing detail in the view next turns too old

    def __post_init__(self) -> None:
        self._health = {k: KeyHealth() for k in self.keys}

    def set_keys(self, keys: tuple[str, ...]) -> None:
        """A reload: keys that stay keep data and health, removed keys vanish, new start empty."""
        for gone in set(self._health) - set(keys):
            del self._health[gone]
            self._results.pop(gone, None)
        self._health = {k: self._health.get(k) or KeyHealth() for k in keys}
        self.keys = keys
        self.generation += 1
        self.health_generation += 1

    def health(self, key: str) -> KeyHealth:
        return self._health[key]

    def all_health(self) -> Mapping[str, KeyHealth]:
        return MappingProxyType(self._health)

    def result(self, key: str) -> PollResult | None:
        return self._results.get(key)

    def ready(self) -> bool:
        return all(h.poll_attempted for h in self._health.values())

    def record_poll(
        self, key: str, result: PollResult | None, duration: float, *, error: str | None = None
    ) -> None:
        """A poll finished: with a result it succeeded and replaces the old one whole."""
        h = self._health[key]
        h.poll_attempted, h.poll_duration = True, duration
        h.poll_success = result is not None
        h.last_error = error
        if result is not None:
            self.publish(key, result)
            h.last_success = h.data_since = result.taken_at
        h.areas = {**h.areas, "projects": result is not None}
        self.health_generation += 1

    def publish(self, key: str, result: PollResult) -> None:
        """Serve ``result`` for ``key`` from now on: at the end of a poll, or in its middle
        once the projects that changed have been fetched (``poll_v2``'s ``publish``)."""
        old = self._results.get(key)
        self._results[key] = result
        h = self._health[key]
        h.details = result.detail_status()
        h.left_out = result.left_out
        h.area_seconds = {**h.area_seconds, **result.durations}
        # A result to publish means its project list was fetched.
        h.areas = {"projects": True} | result.area_success()
        if h.data_since is None:
            h.data_since = result.taken_at
        # An unchanged answer need not re-render thousands of series.
        if old is None or _data(old) != _data(result):
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

    def record_key_source(
        self, key: str, *, auth: AuthDetails | None = None, file_read_at: float | None = None
    ) -> None:
        """What the key probe learnt of the key (None: nothing new) and when its file was read."""
        h = self._health[key]
        new_auth = auth or h.auth
        read_at = file_read_at if file_read_at is not None else h.key_file_read_at
        if (new_auth, read_at) != (h.auth, h.key_file_read_at):
            h.auth, h.key_file_read_at = new_auth, read_at
            self.health_generation += 1

    def expire(self) -> list[str]:
        """Drop the data of keys whose last good poll is older than ``max_age``; returns those
        keys. Failing detail ages out in :meth:`view`; this notices when the next piece does."""
        now = self.clock()
        stale = [k for k in self._results if now - self._data_since(k) > self.max_age]
        for key in stale:
            del self._results[key]
        if stale or now >= self._next_detail_expiry:
            self._next_detail_expiry = math.inf
            self.generation += 1
        return stale

    def _data_since(self, key: str) -> float:
        since = self._health[key].data_since
        return self._results[key].taken_at if since is None else since

    def view(self) -> View:
        self.expire()
        if self._view is not None and self._view[0] == self.generation:
            return self._view[1]
        now = self.clock()
        projects: dict[str, Project] = {}
        # Oldest first, so where two keys see one project the freshest list entry wins.
        results = sorted(self._results.values(), key=lambda s: s.taken_at)
        for result in results:
            projects.update(result.projects)
        areas = {area for result in results for area in result.detail}
        view = View(
            projects=MappingProxyType(projects),
            projects_per_key=MappingProxyType(
                {k: len(s.projects) for k, s in self._results.items()}
            ),
            detail=MappingProxyType(
                {
                    area: MappingProxyType(self._merge_detail(results, area, now))
                    for area in sorted(areas)
                }
            ),
            account=MappingProxyType(self._account(results, now)),
        )
        self._view = (self.generation, view)
        return view

    def _account(self, results: list[PollResult], now: float) -> dict[str, Any]:
        """Account-level data by area and key: each key's own (the collectors dedupe what two
        keys both see), failing data served until ``max_age`` old as for detail."""
        out: dict[str, dict[str, Any]] = {}
        for result in results:
            for area, piece in result.account.items():
                if piece.failing_since is not None:
                    if now - piece.fetched_at > self.max_age:
                        continue
                    expiry = piece.fetched_at + self.max_age
                    self._next_detail_expiry = min(self._next_detail_expiry, expiry)
                out.setdefault(area, {})[result.key] = piece.value
        return {area: MappingProxyType(m) for area, m in out.items()}

    def _merge_detail(self, results: list[PollResult], kind: str, now: float) -> Mapping[str, Any]:
        """One kind of detail over keys: per project, the freshest fetch of any key that
        lists it (by fetch time: a key that has not fetched it yet never hides another's).

        Detail whose fetches keep failing is served until its last good fetch is ``max_age``
        old; the earliest such deadline still ahead is kept for :meth:`expire`.
        """
        if len(results) == 1 and (whole := _unmerged(results[0], kind)) is not None:
            return whole
        out: dict[str, Any] = {}
        best: dict[str, float] = {}
        for result in results:
            times = result.fetched.get(kind, NOTHING)
            failing = result.failed.get(kind, NOTHING)
            source = result.detail.get(kind, NOTHING)
            for pid in result.projects:
                # Detail without a fetch time (a result built by hand) counts as fetched
                # when its result was taken.
                at = times.get(pid, result.taken_at if pid in source else None)
                if at is None or at < best.get(pid, -math.inf):
                    continue
                if pid in failing:
                    if now - at > self.max_age:
                        continue
                    self._next_detail_expiry = min(self._next_detail_expiry, at + self.max_age)
                best[pid] = at
                value = source.get(pid)
                if value is None:
                    out.pop(pid, None)  # the freshest answer: not reported
                else:
                    out[pid] = value
        return out


def _unmerged(result: PollResult, kind: str) -> Mapping[str, Any] | None:
    """One key's detail of ``kind`` as it stands, where merging would copy it unchanged: none
    of it failing, all of it of listed projects. A view is built on the event loop at every data
    change; this spares a loop over every project (in C, not Python: the key sets compared)."""
    source = result.detail.get(kind, NOTHING)
    if result.failed.get(kind) or not source.keys() <= result.projects.keys():
        return None
    return source


def _data(s: PollResult) -> tuple[object, ...]:
    # ``failed`` too: which detail is failing decides when it ages out of the view.
    return (s.projects, s.detail, s.failed, s.account)
