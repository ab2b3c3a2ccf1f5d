"""``--web.config.file``: TLS, client certificates, basic auth and response headers.

The file has the format of the Prometheus exporter-toolkit (the one node_exporter reads), so one
file can serve both, cf. https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md.
Unknown fields are an error, as with exporter-toolkit's strict YAML decoding; so is a field whose
protection Python's ``ssl`` module cannot give (``client_allowed_sans``, ``RequireAnyClientCert``):
refusing to start beats quietly serving with less protection than the file asks for.

Differences from exporter-toolkit, each for a reason (see docs/web-configuration.md):

- The file is read at start (and on reload), not on every request. A reload applies all of it,
  TLS included, to every new connection (see guard.py's ``GuardedSite``).
- ``RequestClientCert`` asks nothing of the client here (exporter-toolkit requests a certificate
  but neither verifies nor uses it, so either way every client gets in).
- ``curve_preferences`` is checked and ignored (``ssl`` cannot set a curve list; OpenSSL's
  defaults are all modern curves), ``http2`` is accepted and ignored (aiohttp serves HTTP/1.1).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from aiohttp.typedefs import Middleware

from . import auth
from .auth import BasicAuth, parse_users
from .fields import SETTING, check_fields, mapping, refuse, strings
from .fields import boolean as _bool
from .tls import TLSServerConfig, build_context, parse_tls, ssl_problem

_TOP_FIELDS = frozenset(
    {"tls_server_config", "http_server_config", "basic_auth_users", "auth_excluded_paths"}
)
_HTTP_FIELDS = frozenset({"http2", "headers"})
# exporter-toolkit allows only these response headers, some with a fixed set of values, "to
# ensure consistency in the Prometheus ecosystem" (web/handler.go, extraHTTPHeaders).
_HEADERS: Mapping[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}


@dataclass(frozen=True, slots=True)
class WebConfig:
    """A loaded web configuration. Empty (the default) means plain HTTP, no auth, no headers."""

    tls: TLSServerConfig | None = None
    # username -> bcrypt hash; empty means no basic auth.
    users: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    auth_excluded_paths: frozenset[str] = frozenset()
    # The server context built from the files when the file was loaded: applying a loaded
    # config (at start or on reload) then cannot fail on a file that changed in between.
    context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    def ssl_context(self) -> ssl.SSLContext | None:
        """A server context built from the files now; None when TLS is not configured."""
        if self.tls is None:
            return None
        try:
            return build_context(self.tls)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise refuse(f"tls_server_config: {ssl_problem(exc)}") from None

    def middleware(self) -> Middleware:
        """aiohttp middleware: basic auth on every path (but auth_excluded_paths), plus headers."""
        return auth.middleware(self.users, self.headers, self.auth_excluded_paths)


def _headers(raw: dict[str, Any]) -> dict[str, str]:
    check_fields(raw, _HTTP_FIELDS, "http_server_config.")
    if "http2" in raw:
        _bool(raw["http2"], "http_server_config.http2")  # aiohttp serves HTTP/1.1 only
    headers: dict[str, str] = {}
    for name, value in mapping(raw.get("headers"), "http_server_config.headers").items():
        if name not in _HEADERS:
            raise refuse(
                f"http_server_config.headers.{name} cannot be configured "
                f"(allowed: {', '.join(_HEADERS)})"
            )
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise refuse(f"http_server_config.headers.{name} must be a one-line string")
        allowed = _HEADERS[name]
        if allowed and value not in allowed:
            raise refuse(f"http_server_config.headers.{name}: one of {', '.join(allowed)}")
        if value:  # blank means unset, as in exporter-toolkit
            headers[name] = value
    return headers


def load_web_config(path: str) -> WebConfig:
    """Read and validate a web config file; every problem is a :class:`ConfigError` (naming
    ``web.config.file``: the caller renames it to the setting as the user gave it)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise refuse(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise refuse(f"{path} is not valid YAML") from None
    top = mapping(data, path)
    check_fields(top, _TOP_FIELDS, "")
    base = Path(os.path.dirname(os.path.abspath(path)))
    excluded = strings(top.get("auth_excluded_paths"), "auth_excluded_paths")
    config = WebConfig(
        tls=parse_tls(mapping(top.get("tls_server_config"), "tls_server_config"), base),
        users=MappingProxyType(
            parse_users(mapping(top.get("basic_auth_users"), "basic_auth_users"))
        ),
        headers=MappingProxyType(
            _headers(mapping(top.get("http_server_config"), "http_server_config"))
        ),
        auth_excluded_paths=frozenset(excluded),
    )
    # Files readable, key matches certificate, CA parses: a ConfigError at load, never later.
    return replace(config, context=config.ssl_context())


__all__ = ["SETTING", "BasicAuth", "TLSServerConfig", "WebConfig", "load_web_config"]
