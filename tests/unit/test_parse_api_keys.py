"""Parsers of GET /auth, the API key lists and GET /users/me/organizations (pure functions)."""

from __future__ import annotations

import pytest

from exporter.neon.fields import ParseError
from exporter.neon.models import ApiKey, AuthDetails
from exporter.neon.parse import (
    parse_api_keys,
    parse_auth,
    parse_organization_ids,
)


def test_auth_needs_both_fields() -> None:
    data = {"account_id": "org-blue-123", "auth_method": "api_key_org", "auth_data": "x"}
    assert parse_auth(data) == AuthDetails("org-blue-123", "api_key_org")
    for missing in ("account_id", "auth_method"):
        with pytest.raises(ParseError, match=missing):
            parse_auth({k: v for k, v in data.items() if k != missing})
    with pytest.raises(ParseError):
        parse_auth([data])


def test_key_list_skips_items_without_an_id_and_keeps_a_never_used_key() -> None:
    """The document's example, one key never used (last_used_at null), one without an id."""
    data = [
        {
            "id": 165432,
            "name": "mykey_1",
            "created_at": "2022-11-15T20:13:35Z",
            "created_by": {"id": "u", "name": "John Smith", "image": ""},
            "last_used_at": None,
            "last_used_from_addr": "",
            "project_id": "shiny-wind-028834",
        },
        {"name": "broken", "created_at": "2022-11-15T20:13:35Z"},
    ]
    keys, skipped = parse_api_keys("org-blue-123")(data)
    assert skipped == 1
    assert keys == (
        ApiKey(
            id=165432,
            name="mykey_1",
            owner="org-blue-123",
            created_at=1668543215.0,
            last_used_at=None,
            last_used_from_addr="",
            project_id="shiny-wind-028834",
        ),
    )
    with pytest.raises(ParseError):
        parse_api_keys("account")({"keys": []})


def test_organization_ids() -> None:
    data = {"organizations": [{"id": "org-a"}, {"name": "no id"}, {"id": "org-b"}]}
    assert parse_organization_ids(data) == (("org-a", "org-b"), 1)
    with pytest.raises(ParseError):
        parse_organization_ids([])
