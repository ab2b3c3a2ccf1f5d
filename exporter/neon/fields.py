"""Field readers for Neon's JSON: strict about what is needed, tolerant of the rest.

An item missing a needed field raises ``_BadItem`` (the page parser skips and counts it); a body
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


class _BadItem(Exception):
    pass


# Strings are interned: ids, regions and types repeat across endpoints, projects and every
# poll, and at 10,000 projects one shared object per distinct value is megabytes saved.
def _str(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise _BadItem(name)
    return sys.intern(value)


def _opt_str(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    return sys.intern(value) if isinstance(value, str) else ""


def _int(item: dict[str, Any], name: str) -> int:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadItem(name)
    return value


def _opt_int(item: dict[str, Any], name: str) -> int | None:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _num(item: dict[str, Any], name: str) -> float:
    value = _opt_num(item, name)
    if value is None:
        raise _BadItem(name)
    return value


def _opt_num(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # json.loads makes ints of any size; float() refuses past ~1e308
        return None


def _bool(item: dict[str, Any], name: str) -> bool:
    value = item.get(name)
    if not isinstance(value, bool):
        raise _BadItem(name)
    return value


def _opt_bool(item: dict[str, Any], name: str) -> bool | None:
    value = item.get(name)
    return value if isinstance(value, bool) else None


def _state(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if value not in STATES:
        raise _BadItem(name)
    return STATES[STATES.index(value)]  # the shared constant, not the decoded copy


def _timestamp(item: dict[str, Any], name: str) -> float | None:
    value = item.get(name)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError, OSError):  # a naive year-1 date fails in mktime
        return None


def _items(
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
                raise _BadItem("item")
            out.append(parse(item))
        except _BadItem:
            skipped += 1
    return tuple(out), skipped
