"""Key health and poll health, per configured key name (never any part of the key).

Small (a few series per key) and changing with every poll, so it is rendered with the live
part of the exposition on each change, not with the cached polled part.

Sample::

    neon_api_key_valid{key="prod"} 1.0
    neon_api_key_last_rejected_timestamp_seconds{key="prod"} 1.7e+09
    neon_exporter_poll_success{key="prod"} 1.0
    neon_exporter_poll_last_success_timestamp_seconds{key="prod"} 1.7e+09
    neon_exporter_poll_duration_seconds{key="prod"} 0.42
    neon_exporter_api_budget_requests_per_minute{key="prod"} 300.0
    neon_exporter_detail_oldest_timestamp_seconds{key="prod",kind="endpoints"} 1.7e+09
    neon_exporter_detail_unfetched_projects{key="prod",kind="endpoints"} 0.0
    neon_exporter_collector_success{collector="endpoints",key="prod"} 1.0
    neon_api_key_info{account_id="org-blue-123",auth_method="api_key_org",key="prod"} 1.0
    neon_api_key_file_read_timestamp_seconds{key="prod"} 1.7e+09
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from .family import Family, Sample

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import KeyHealth

Health = Mapping[str, "KeyHealth"]
"""Every configured key's health, in configuration order (the order of the samples)."""


def _bool(value: bool | None) -> float | None:
    return None if value is None else float(value)


def _gauge(name: str, doc: str, value: Callable[[KeyHealth], float | None]) -> Family[Health]:
    def samples(health: Health) -> Iterable[Sample]:
        return [((key,), v) for key, h in health.items() if (v := value(h)) is not None]

    return Family(name, doc, ("key",), samples)


def _per_kind(health: Health, index: int) -> Iterable[Sample]:
    for key, h in health.items():
        for kind, detail in h.details.items():
            if (v := detail[index]) is not None:
                yield (key, kind), float(v)


def _areas(health: Health) -> Iterable[Sample]:
    return [((key, area), float(ok)) for key, h in health.items() for area, ok in h.areas.items()]


def _durations(health: Health) -> Iterable[Sample]:
    return [((k, area), t) for k, h in health.items() for area, t in h.area_seconds.items()]


def _auth(health: Health) -> Iterable[Sample]:
    return [
        ((key, h.auth.auth_method, h.auth.account_id), 1.0)
        for key, h in health.items()
        if h.auth is not None
    ]


FAMILIES: tuple[Family[Health], ...] = (
    _gauge(
        "neon_api_key_valid",
        "1 while Neon accepts the key; 0 after Neon answered 401 (invalid or revoked).",
        lambda h: _bool(h.valid),
    ),
    _gauge(
        "neon_api_key_last_rejected_timestamp_seconds",
        "Unix time Neon last answered 401 for the key.",
        lambda h: h.last_rejected,
    ),
    _gauge(
        "neon_exporter_poll_success",
        "1 if the last poll of the key completed.",
        lambda h: _bool(h.poll_success),
    ),
    _gauge(
        "neon_exporter_poll_last_success_timestamp_seconds",
        "Unix time the last successful poll of the key finished.",
        lambda h: h.last_success,
    ),
    _gauge(
        "neon_exporter_poll_duration_seconds",
        "Wall time of the last poll of the key.",
        lambda h: h.poll_duration,
    ),
    _gauge(
        "neon_exporter_api_budget_requests_per_minute",
        "Requests per minute the key may spend on Neon (--neon.max-requests-per-minute); "
        "compare with rate(neon_exporter_api_requests_total[5m]) * 60.",
        lambda h: h.budget_per_minute,
    ),
    Family(
        "neon_exporter_detail_oldest_timestamp_seconds",
        "Unix time the oldest per-project detail of this kind was fetched (detail is "
        "refreshed in rotation within the request budget); time() minus this is its age.",
        ("key", "kind"),
        lambda health: _per_kind(health, 0),
    ),
    Family(
        "neon_exporter_detail_unfetched_projects",
        "Projects of the key with no detail of this kind fetched yet (new projects, or "
        "the first polls of a large account).",
        ("key", "kind"),
        lambda health: _per_kind(health, 1),
    ),
    Family(
        "neon_exporter_collector_success",
        "1 while every request of this area (collector) of the key succeeds; 0 while any "
        "is failing: its last good data is kept until poll.max-age. projects is the "
        "project list, whose failure fails the poll.",
        ("key", "collector"),
        _areas,
    ),
    Family(
        "neon_exporter_collector_duration_seconds",
        "Seconds from the area's (collector's) first request to its last answer in the key's "
        "last poll that made any (projects: the project list), as node_exporter's "
        "node_scrape_collector_duration_seconds.",
        ("key", "collector"),
        _durations,
    ),
    Family(
        "neon_api_key_info",
        "What kind of credential the key is (auth_method: api_key_user is a personal key, "
        "api_key_org an organization's) and whose (account_id: the user or organization), "
        "as GET /auth last answered the key probe; always 1. Absent on v1.",
        ("key", "auth_method", "account_id"),
        _auth,
        kind="info",
    ),
    _gauge(
        "neon_api_key_file_read_timestamp_seconds",
        "Unix time the key's key_file was last read (it is re-read when its inode, size or "
        "mtime change): after a rotation, the new key is in use once this is past the "
        "write. Absent for a key from the environment.",
        lambda h: h.key_file_read_at,
    ),
    _gauge(
        "neon_exporter_projects_left_out",
        "Projects in the key's last project list that --projects.include, "
        "--projects.exclude or --projects.org-ids left out: neither fetched nor exported.",
        lambda h: h.left_out,
    ),
)
