"""Parsers on literal Neon JSON: the seed's v1 example and the v2 OpenAPI examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from exporter.neon.fields import ParseError
from exporter.neon.models import Endpoint, derive_pooler, derive_state
from exporter.neon.parse import (
    parse_v1_projects,
    parse_v2_endpoints,
    parse_v2_projects_page,
)

SEED = Path(__file__).resolve().parents[1] / "data" / "seed-api-keys.md"


def seed_example() -> object:
    """The JSON response printed in the original API-key document."""
    text = SEED.read_text()
    match = re.search(r"```json\n(.*?)```", text, re.S)
    assert match, "the seed document no longer holds a JSON example"
    return json.loads(match.group(1))


def test_seed_v1_example_maps_to_documented_values() -> None:
    """The seed's v1 project: pg_version 15, size 0, pooler off, state idle."""
    projects, skipped = parse_v1_projects(seed_example())
    assert skipped == 0
    (p,) = projects
    assert (p.id, p.name, p.region_id, p.platform_id) == (
        "wispy-sea-654321",
        "wispy-sea-654321",
        "aws-us-west-2",
        "aws",
    )
    assert (p.pg_version, p.size_bytes, p.pooler_enabled, p.state) == (15, 0, False, "idle")
    assert p.org_id == ""


def test_v2_page_tolerates_unknown_fields_and_skips_bad_items() -> None:
    """Unknown fields are ignored; an item missing a needed field is skipped and counted."""
    page = parse_v2_projects_page(
        {
            "projects": [
                {"id": "a-1", "pg_version": 16, "synthetic_storage_size": 5, "brand_new": {"x": 1}},
                {"id": "b-2"},  # no pg_version
                "not an object",
                {"id": "c-3", "pg_version": 17, "org_id": "org-x"},
            ],
            "pagination": {"cursor": "c-3"},
            "unavailable_project_ids": ["d-4"],
        }
    )
    assert [p.id for p in page.projects] == ["a-1", "c-3"]
    assert page.skipped == 2
    assert page.cursor == "c-3"
    assert page.unavailable_project_ids == ("d-4",)
    assert page.projects[0].size_bytes == 5
    assert page.projects[1].size_bytes is None
    assert page.projects[1].org_id == "org-x"


@pytest.mark.parametrize("body", [None, [], "x", {"projects": {}}, {"other": []}])
def test_v2_page_of_wrong_shape_raises_parse_error(body: object) -> None:
    """A body that is not a project page raises the parser's own error."""
    with pytest.raises(ParseError):
        parse_v2_projects_page(body)


def test_v2_endpoints_and_derived_state() -> None:
    """Endpoints parse with their numbers; project state is active > init > idle."""
    raw = {
        "endpoints": [
            {
                "id": "ep-1",
                "project_id": "p",
                "branch_id": "br-1",
                "type": "read_write",
                "current_state": "idle",
                "pooler_enabled": True,
                "autoscaling_limit_min_cu": 0.25,
                "autoscaling_limit_max_cu": 2,
                "suspend_timeout_seconds": 300,
                "last_active": "2022-11-23T17:00:00Z",
            },
            {
                "id": "ep-2",
                "project_id": "p",
                "branch_id": "br-1",
                "type": "read_only",
                "current_state": "sleeping",
            },  # unknown state: skipped
        ]
    }
    endpoints, skipped = parse_v2_endpoints(raw)
    assert skipped == 1
    (e,) = endpoints
    assert e.autoscaling_limit_max_cu == 2.0
    assert e.last_active_timestamp == 1669222800.0
    assert derive_state(endpoints) == "idle"

    def ep(state: str) -> Endpoint:
        return Endpoint("e", "p", "b", "read_write", state, False, 1, 1, None, None)

    assert derive_state((ep("idle"), ep("init"))) == "init"
    assert derive_state((ep("init"), ep("active"), ep("idle"))) == "active"
    assert derive_state(()) == "idle"


def test_endpoints_without_the_deprecated_pooler_fields_still_parse() -> None:
    """Neon deprecated pooler_enabled and pooler_mode (sunset 2026-06-20): three endpoints
    without them are three endpoints, with the pooler flag absent (None), not False."""
    raw = {
        "endpoints": [
            {
                "id": f"ep-{i}",
                "project_id": "p",
                "branch_id": "br-1",
                "type": "read_write" if i == 0 else "read_only",
                "current_state": state,
                "autoscaling_limit_min_cu": 0.25,
                "autoscaling_limit_max_cu": 2,
            }
            for i, state in enumerate(("idle", "active", "idle"))
        ]
    }
    endpoints, skipped = parse_v2_endpoints(raw)
    assert skipped == 0
    assert [e.id for e in endpoints] == ["ep-0", "ep-1", "ep-2"]
    assert all(e.pooler_enabled is None for e in endpoints)
    assert derive_state(endpoints) == "active"
    assert derive_pooler(endpoints) is None
    raw["endpoints"][1]["pooler_enabled"] = True
    raw["endpoints"][2]["pooler_enabled"] = "yes"  # not a boolean: absent, not a bad item
    endpoints, skipped = parse_v2_endpoints(raw)
    assert skipped == 0
    assert [e.pooler_enabled for e in endpoints] == [None, True, None]
    assert derive_pooler(endpoints) is True


def test_derived_pooler_is_any_endpoint_that_reports_it() -> None:
    """The v2 project pooler flag: True if any endpoint says so, False if those that report
    say no, None (absent) when no endpoint reports the field."""

    def ep(pooler: bool | None) -> Endpoint:
        return Endpoint("e", "p", "b", "read_write", "idle", pooler, 1, 1, None, None)

    assert derive_pooler((ep(None), ep(False))) is False
    assert derive_pooler((ep(None), ep(True), ep(False))) is True
    assert derive_pooler((ep(None),)) is None
    assert derive_pooler(()) is None


def test_v2_list_quota_maintenance_retention_and_active_time() -> None:
    """settings.quota keeps its positive limits (zero means unlimited); a quota of zeros, an
    empty or malformed one is none at all; every field is optional and never skips the item."""
    base = {"id": "p-1", "pg_version": 16}
    page = parse_v2_projects_page(
        {
            "projects": [
                base
                | {
                    "settings": {
                        "quota": {
                            "active_time_seconds": 36000,
                            "compute_time_seconds": 0,
                            "logical_size_bytes": 1073741824,
                        }
                    },
                    "quota_reset_at": "2025-02-01T00:00:00Z",
                    "maintenance_starts_at": "2025-01-20T03:00:00Z",
                    "history_retention_seconds": 604800,
                    "active_time": 750111,
                    "effective_project_permission": "CAN_VIEW",
                },
                base | {"id": "p-2", "settings": {"quota": {"active_time_seconds": 0}}},
                base | {"id": "p-3", "settings": {"quota": {}}},
                base | {"id": "p-4", "settings": {"quota": "lots"}, "active_time": "x"},
                base | {"id": "p-5"},
            ]
        }
    )
    assert page.skipped == 0
    p1, p2, p3, p4, p5 = page.projects
    assert p1.quota is not None
    assert p1.quota.active_time_seconds == 36000
    assert p1.quota.compute_time_seconds is None  # zero: unlimited
    assert p1.quota.logical_size_bytes == 1073741824
    assert p1.quota.written_data_bytes is None
    assert p1.quota_reset_at == 1738368000.0
    assert p1.maintenance_starts_at == 1737342000.0
    assert p1.history_retention_seconds == 604800
    assert p1.active_time_seconds == 750111
    assert p1.permission == "CAN_VIEW"
    for p in (p2, p3, p4, p5):
        assert p.quota is None
        assert p.maintenance_starts_at is None
        assert p.history_retention_seconds is None
        assert p.permission == ""
    assert p4.active_time_seconds is None
