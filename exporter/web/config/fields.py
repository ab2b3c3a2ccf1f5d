"""Reading the fields of a web config file: each problem a ConfigError naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...config.errors import ConfigError

SETTING = "web.config.file"

# Known to exporter-toolkit but not honoured here: named so the error says why, not "unknown".
_UNSUPPORTED = {
    "cert": "inline certificates are not supported; use cert_file",
    "key": "inline keys are not supported; use key_file",
    "client_ca": "an inline client CA is not supported; use client_ca_file",
    "client_allowed_sans": "not supported by neon-exporter; use a dedicated client CA instead",
    "rate_limit": "not supported by neon-exporter",
}


def refuse(problem: str) -> ConfigError:
    """The error for a problem in the file (the caller names the setting as given)."""
    return ConfigError(SETTING, problem)


def mapping(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise refuse(f"{where} must be a mapping")
    return value


def check_fields(data: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
    for name in data:
        where = f"{prefix}{name}"
        if name in _UNSUPPORTED:
            raise refuse(f"{where}: {_UNSUPPORTED[name]}")
        if name not in allowed:
            raise refuse(f"unknown field {where}")


def string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise refuse(f"{where} must be a non-empty string")
    return value


def boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise refuse(f"{where} must be true or false")
    return value


def strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise refuse(f"{where} must be a list of strings")
    return value


def path(base: Path, value: object, where: str) -> str:
    # Relative paths are relative to the web config file, as in exporter-toolkit.
    return str(base / string(value, where))
