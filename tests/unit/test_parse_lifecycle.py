"""Parsing what issue #21 reads: branch expiry and recovery, the list's integration maps,
advisor issues. Tolerant of what Neon may leave out, strict about label values."""

from __future__ import annotations

from typing import Any

from exporter.areas.advisors import Advisors, parse_advisors
from exporter.neon.models import BranchRecovery
from exporter.neon.parse import parse_v2_branches_page, parse_v2_projects_page

BRANCH = {"id": "br-a-1", "project_id": "p-1", "current_state": "ready", "default": False}


def branch(**fields: Any) -> dict[str, Any]:
    return {**BRANCH, "protected": False, **fields}


def test_branch_expiry_and_recovery() -> None:
    page = parse_v2_branches_page(
        {
            "branches": [
                branch(expires_at="2026-01-02T00:00:00Z", ttl_interval_seconds=3600),
                branch(
                    id="br-b-2",
                    recovery={
                        "deleted_at": "2026-01-01T00:00:00Z",
                        "recoverable_until": "2026-01-08T00:00:00Z",
                        "deletion_method": "ttl",
                    },
                ),
                # A partial recovery is none, not a reason to skip the branch.
                branch(id="br-c-3", recovery={"deleted_at": "2026-01-01T00:00:00Z"}),
                branch(id="br-d-4", expires_at="not a time", ttl_interval_seconds="1h"),
            ]
        }
    )
    first, deleted, partial, bad = page.branches
    assert first.expires_at == 1767312000.0
    assert first.ttl_interval_seconds == 3600
    assert deleted.recovery == BranchRecovery(1767225600.0, 1767830400.0, "ttl")
    assert partial.recovery is None
    assert (bad.expires_at, bad.ttl_interval_seconds) == (None, None)
    assert page.skipped == 0


def test_integrations_from_either_map() -> None:
    """Both maps, merged and sorted; a name that is not a short identifier is dropped."""
    item = {"id": "p-1", "pg_version": 17}
    page = parse_v2_projects_page(
        {
            "projects": [item, {**item, "id": "p-2"}, {**item, "id": "p-3"}],
            "applications": {"p-1": ["vercel"], "p-2": "github"},
            "integrations": {"p-1": ["github", "vercel", "x y", 7], "p-9": ["datadog"]},
        }
    )
    assert [p.integrations for p in page.projects] == [("github", "vercel"), (), ()]


def test_advisor_issues_counted_by_level_and_category() -> None:
    issues = [
        {"level": "ERROR", "categories": ["SECURITY"]},
        {"level": "ERROR", "categories": ["SECURITY", "PERFORMANCE"]},
        {"level": "NOTICE", "categories": ["COST"]},
        {"level": "WARN"},  # no categories: skipped
    ]
    advisors, skipped = parse_advisors({"issues": issues})
    assert advisors == Advisors(
        True,
        (("error", "performance", 1), ("error", "security", 2), ("other", "other", 1)),
    )
    assert skipped == 1
