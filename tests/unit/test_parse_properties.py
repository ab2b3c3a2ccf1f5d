"""Property-based tests of the v1 and v2 parsers: whatever JSON Neon (or a proxy) sends, the
parsers return well-typed models or raise ParseError, never anything else."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.neon.fields import ParseError
from exporter.neon.models import STATES, Endpoint, Project
from exporter.neon.parse import (
    parse_v1_projects,
    parse_v2_endpoints,
    parse_v2_projects_page,
)
from tests.support import coverage_paused

T = TypeVar("T")

# Whatever json.loads can return: it accepts NaN/Infinity and integers of any size.
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)

PROJECT_FIELDS = (
    "id",
    "name",
    "region_id",
    "platform_id",
    "org_id",
    "pg_version",
    "synthetic_storage_size",
    "size",
    "current_state",
    "pooler_enabled",
    "updated_at",
)
ENDPOINT_FIELDS = (
    "id",
    "project_id",
    "branch_id",
    "type",
    "current_state",
    "pooler_enabled",
    "autoscaling_limit_min_cu",
    "autoscaling_limit_max_cu",
    "suspend_timeout_seconds",
    "last_active",
)
# Values that look like what Neon sends, plus wrong ones, so the parsers' field checks are hit.
field_values = (
    json_values
    | st.sampled_from(
        [*STATES, "2024-05-01T10:00:00Z", "2024-13-99", "0001-01-01T00:00:00", 10**400, 1e308]
    )
    | st.datetimes().map(lambda d: d.isoformat())
)


def objects_with(fields: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(fields) | st.text(max_size=8), field_values, max_size=12)


def bodies(container: str, fields: tuple[str, ...]) -> st.SearchStrategy[object]:
    items = st.lists(objects_with(fields) | json_values, max_size=6)
    shaped = st.fixed_dictionaries(
        {container: items},
        optional={
            "pagination": st.fixed_dictionaries({}, optional={"cursor": json_values}) | json_values,
            "unavailable_project_ids": st.lists(json_values, max_size=4) | json_values,
        },
    )
    return json_values | shaped


def check_project(p: Project, version: str) -> None:
    assert isinstance(p, Project)
    assert isinstance(p.id, str)
    assert p.id
    for text in (p.name, p.region_id, p.platform_id, p.org_id, p.updated_at):
        assert isinstance(text, str)
    assert type(p.pg_version) is int
    assert p.size_bytes is None or type(p.size_bytes) is int
    if version == "v1":
        assert p.state in STATES
        assert type(p.pooler_enabled) is bool
    else:
        assert p.state is None
        assert p.pooler_enabled is None


def check_endpoint(e: Endpoint) -> None:
    assert isinstance(e, Endpoint)
    for text in (e.id, e.project_id, e.branch_id, e.type):
        assert isinstance(text, str)
        assert text
    assert e.state in STATES
    assert e.pooler_enabled is None or type(e.pooler_enabled) is bool
    assert type(e.autoscaling_limit_min_cu) is float
    assert type(e.autoscaling_limit_max_cu) is float
    assert e.suspend_timeout_seconds is None or type(e.suspend_timeout_seconds) is float
    assert e.last_active_timestamp is None or type(e.last_active_timestamp) is float


@pytest.fixture(autouse=True)
def _untraced() -> Iterator[None]:
    """Thousands of examples through parsers the other tests cover: not under coverage's
    tracer, which made them minutes instead of seconds."""
    with coverage_paused():
        yield


def parse_or_error(parse: Callable[[object], T], data: object) -> T | None:
    """The parser's result, or None when it raised ParseError (anything else propagates)."""
    try:
        return parse(data)
    except ParseError:
        return None


@given(bodies("projects", PROJECT_FIELDS))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_v2_project_page_parses_or_raises_parse_error(data: object) -> None:
    """Any JSON as a v2 project page: a well-typed page, or ParseError."""
    page = parse_or_error(parse_v2_projects_page, data)
    if page is None:
        return
    assert isinstance(data, dict)
    for p in page.projects:
        check_project(p, "v2")
    assert page.cursor is None or (isinstance(page.cursor, str) and page.cursor)
    assert all(isinstance(i, str) for i in page.unavailable_project_ids)
    assert len(page.projects) + page.skipped == len(data["projects"])


@given(bodies("endpoints", ENDPOINT_FIELDS))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_v2_endpoints_parse_or_raise_parse_error(data: object) -> None:
    """Any JSON as a v2 endpoint list: well-typed endpoints, or ParseError."""
    result = parse_or_error(parse_v2_endpoints, data)
    if result is None:
        return
    endpoints, skipped = result
    for e in endpoints:
        check_endpoint(e)
    assert isinstance(data, dict)
    assert len(endpoints) + skipped == len(data["endpoints"])


@given(json_values | st.lists(objects_with(PROJECT_FIELDS) | json_values, max_size=6))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_v1_projects_parse_or_raise_parse_error(data: object) -> None:
    """Any JSON as the v1 project array: well-typed projects, or ParseError."""
    result = parse_or_error(parse_v1_projects, data)
    if result is None:
        return
    projects, skipped = result
    for p in projects:
        check_project(p, "v1")
    assert isinstance(data, list)
    assert len(projects) + skipped == len(data)


@given(json_values)
def test_any_json_text_round_trip_is_handled(data: object) -> None:
    """What json.loads makes of any serialised JSON is handled by all three parsers."""
    decoded = json.loads(json.dumps(data))
    for parse in (parse_v2_projects_page, parse_v2_endpoints, parse_v1_projects):
        parse_or_error(parse, decoded)


# -- almost-valid pages: valid items with fields dropped or mistyped ---------------------------

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
valid_v2_project = st.fixed_dictionaries(
    {
        "id": ids,
        "name": st.text(max_size=20),
        "region_id": st.sampled_from(["aws-us-east-2", "aws-eu-central-1"]),
        "platform_id": st.just("aws"),
        "pg_version": st.integers(14, 17),
        "synthetic_storage_size": st.integers(0, 2**50),
        "updated_at": st.just("2024-05-01T10:00:00Z"),
    },
    optional={"org_id": ids},
)
valid_v1_project = st.fixed_dictionaries(
    {
        "id": ids,
        "name": st.text(max_size=20),
        "region_id": st.just("aws-us-west-2"),
        "platform_id": st.just("aws"),
        "pg_version": st.integers(14, 17),
        "size": st.integers(0, 2**50),
        "current_state": st.sampled_from(STATES),
        "pooler_enabled": st.booleans(),
    }
)
valid_endpoint = st.fixed_dictionaries(
    {
        "id": ids,
        "project_id": ids,
        "branch_id": ids,
        "type": st.sampled_from(["read_write", "read_only"]),
        "current_state": st.sampled_from(STATES),
        "pooler_enabled": st.booleans(),
        "autoscaling_limit_min_cu": st.sampled_from([0.25, 1, 2]),
        "autoscaling_limit_max_cu": st.sampled_from([0.25, 1, 2, 8]),
        "suspend_timeout_seconds": st.integers(0, 3600),
        "last_active": st.just("2024-05-01T10:00:00Z"),
    }
)
wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),  # too large for a float
    st.floats(),
    st.text(max_size=5),
    st.sampled_from(["", "0001-01-01T00:00:00", "not-a-date", "ACTIVE"]),
    st.just([]),
    st.just({}),
)


@st.composite
def damaged(
    draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]
) -> tuple[dict[str, Any], bool]:
    """A valid item with some fields dropped or given another type; True if left intact."""
    item = dict(draw(valid))
    fields = sorted(item)
    to_drop = draw(st.sets(st.sampled_from(fields), max_size=2))
    to_mistype = draw(st.sets(st.sampled_from(fields), max_size=2))
    for name in to_drop:
        del item[name]
    for name in to_mistype - to_drop:
        item[name] = draw(wrong_types)
    return item, not (to_drop or to_mistype)


def items(
    valid: st.SearchStrategy[dict[str, Any]],
) -> st.SearchStrategy[list[tuple[dict[str, Any], bool]]]:
    return st.lists(damaged(valid), max_size=12)


@given(items(valid_v2_project))
def test_almost_valid_v2_page_counts_every_item(entries: list[tuple[dict[str, Any], bool]]) -> None:
    """Each item of a v2 page is parsed or skipped; intact items are always parsed."""
    raw = [item for item, _ in entries]
    page = parse_v2_projects_page({"projects": raw, "pagination": {"cursor": "c"}})
    assert len(page.projects) + page.skipped == len(raw)
    assert len(page.projects) >= sum(intact for _, intact in entries)
    for p in page.projects:
        check_project(p, "v2")


@given(items(valid_v1_project))
def test_almost_valid_v1_array_counts_every_item(
    entries: list[tuple[dict[str, Any], bool]],
) -> None:
    """Each item of the v1 array is parsed or skipped; intact items are always parsed."""
    projects, skipped = parse_v1_projects([item for item, _ in entries])
    assert len(projects) + skipped == len(entries)
    assert len(projects) >= sum(intact for _, intact in entries)
    for p in projects:
        check_project(p, "v1")


@given(items(valid_endpoint))
def test_almost_valid_endpoints_count_every_item(
    entries: list[tuple[dict[str, Any], bool]],
) -> None:
    """Each endpoint is parsed or skipped; intact endpoints are always parsed."""
    endpoints, skipped = parse_v2_endpoints({"endpoints": [item for item, _ in entries]})
    assert len(endpoints) + skipped == len(entries)
    assert len(endpoints) >= sum(intact for _, intact in entries)
    for e in endpoints:
        check_endpoint(e)
