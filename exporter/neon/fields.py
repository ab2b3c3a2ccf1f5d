"""Field readers for Neon's JSON: strict about what is needed, tolerant of the rest.

An item missing a needed field raises ``BadItem`` (the page parser skips and counts it); a body
of the wrong overall shape raises :class:`ParseError`. Area modules parse their own answers
with these.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from .models import STATES

T = TypeVar("T")


class ParseError(ValueError):
    """The body does not have the shape of the documented response."""


class BadItem(Exception):
    pass


# Strings are interned: ids, regions and types repeat across endpoints, projects and every
# poll, and at 10,000 projects one shared object per distinct value is megabytes saved.
def string(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise BadItem(name)
    return sys.intern(value)


def opt_string(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    return sys.intern(value) if isinstance(value, str) else ""


def integer(item: dict[str, Any], name: str) -> int:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadItem(name)
    return value


def opt_integer(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def number(item: dict[str, Any], name: str) -> float:
    value = opt_number(item, name)
    if value is None:
        raise BadItem(name)
    return value


def opt_number(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # json.loads makes ints of any size; float() refuses past ~1e308
        return None


def boolean(item: dict[str, Any], name: str) -> bool:
    value = item.get(name)
    if not isinstance(value, bool):
        raise BadItem(name)
    return value


def opt_boolean(item: dict[str, Any], name: str) -> bool | None:
    value = item.get(name)
    return value if isinstance(value, bool) else None


def state_of(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if value not in STATES:
        raise BadItem(name)
    return STATES[STATES.index(value)]  # the shared constant, not the decoded copy


def opt_timestamp(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):  # a naive year-1 date fails in mktime
        return None


def parse_items(
    data: object, field: str, parse: Callable[[dict[str, Any]], T]
) -> tuple[tuple[T, ...], int]:
    if field == "":  # a bare array (v1); an object, even one with a "" key, is not one
        if not isinstance(data, list):
            raise ParseError("expected a JSON array")
        raw: object = data
    elif isinstance(data, dict):
        raw = data.get(field)
    else:
        raise ParseError("expected a JSON object")
    if not isinstance(raw, list):
        raise ParseError(f"missing array {field!r}")
    out: list[T] = []
    skipped = 0
    for item in raw:
        try:
            if not isinstance(item, dict):
                raise BadItem("item")
            out.append(parse(item))
        except BadItem:
            skipped += 1
    return tuple(out), skipped


def page_cursor(page: dict[str, Any], field: str = "cursor") -> str | None:
    """A page's ``pagination.<field>``; None (the last page) when absent, empty or not text."""
    pagination = page.get("pagination")
    cursor = pagination.get(field) if isinstance(pagination, dict) else None
    return cursor if isinstance(cursor, str) and cursor else None
