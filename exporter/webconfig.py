"""``--web.config.file``: TLS, client certificates, basic auth and response headers.

The file has the format of the Prometheus exporter-toolkit (the one node_exporter reads), so one
file can serve both, cf. https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md.
Unknown fields are an error, as with exporter-toolkit's strict YAML decoding; so is a field whose
protection Python's ``ssl`` module cannot give (``client_allowed_sans``, ``RequireAnyClientCert``):
refusing to start beats quietly serving with less protection than the file asks for.

Differences from exporter-toolkit, each for a reason (see docs/web-configuration.md):

- The file is read at start (and on reload), not on every request. A reload applies all of it,
  TLS included, to every new connection (see web.py's ``GuardedSite``).
- ``RequestClientCert`` asks nothing of the client here (exporter-toolkit requests a certificate
  but neither verifies nor uses it, so either way every client gets in).
- ``curve_preferences`` is checked and ignored (``ssl`` cannot set a curve list; OpenSSL's
  defaults are all modern curves), ``http2`` is accepted and ignored (aiohttp serves HTTP/1.1).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import bcrypt
import yaml
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .config import ConfigError

SETTING = "web.config.file"
REALM = "neon-exporter"


_TOP_FIELDS = frozenset(
    {"tls_server_config", "http_server_config", "basic_auth_users", "auth_excluded_paths"}
)
_TLS_FIELDS = frozenset(
    {
        "cert_file",
        "key_file",
        "client_auth_type",
        "client_ca_file",
        "min_version",
        "max_version",
        "cipher_suites",
        "prefer_server_cipher_suites",
        "curve_preferences",
    }
)
_HTTP_FIELDS = frozenset({"http2", "headers"})
# Known to exporter-toolkit but not honoured here: named so the error says why, not "unknown".
_UNSUPPORTED = {
    "cert": "inline certificates are not supported; use cert_file",
    "key": "inline keys are not supported; use key_file",
    "client_ca": "an inline client CA is not supported; use client_ca_file",
    "client_allowed_sans": "not supported by neon-exporter; use a dedicated client CA instead",
    "rate_limit": "not supported by neon-exporter",
}

_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# exporter-toolkit's client_auth_type -> (ssl verify mode, whether a client CA is needed).
_CLIENT_AUTH: Mapping[str, tuple[ssl.VerifyMode, bool]] = {
    "NoClientCert": (ssl.CERT_NONE, False),
    "RequestClientCert": (ssl.CERT_NONE, False),
    "VerifyClientCertIfGiven": (ssl.CERT_OPTIONAL, True),
    "RequireAndVerifyClientCert": (ssl.CERT_REQUIRED, True),
}
_CLIENT_AUTH_UNSUPPORTED = ("RequireAnyClientCert", "RequireClientCert")
# Go's names (crypto/tls CipherSuites()) for TLS 1.2 and below -> OpenSSL's names.
_CIPHERS = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
}
# TLS 1.3 suites are not configurable in Go either; exporter-toolkit accepts and ignores them.
_TLS13_CIPHERS = frozenset(
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
)
_CURVES = frozenset({"CurveP256", "CurveP384", "CurveP521", "X25519"})
# exporter-toolkit allows only these response headers, some with a fixed set of values, "to
# ensure consistency in the Prometheus ecosystem" (web/handler.go, extraHTTPHeaders).
_HEADERS: Mapping[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
_BCRYPT_HASH = re.compile(rb"^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
_BCRYPT_MAX_PASSWORD = 72  # bcrypt>=5 refuses longer passwords; no hash can match one
_CACHE_MAX = 1024


@dataclass(frozen=True, slots=True)
class TLSServerConfig:
    cert_file: str
    key_file: str
    verify_mode: ssl.VerifyMode = ssl.CERT_NONE
    client_ca_file: str | None = None
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED
    ciphers: str | None = None  # an OpenSSL cipher list, for TLS 1.2 and below
    prefer_server_ciphers: bool = True


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
            return _build_context(self.tls)
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ConfigError(SETTING, f"tls_server_config: {_ssl_problem(exc)}") from None

    def middleware(self) -> Middleware:
        """aiohttp middleware: basic auth on every path (but auth_excluded_paths), plus headers.

        Like exporter-toolkit, everything is protected, /healthz included: a probe that cannot
        send credentials can use a TCP check, or list /healthz in ``auth_excluded_paths``.
        """
        auth = BasicAuth(self.users) if self.users else None
        headers = dict(self.headers)
        excluded = self.auth_excluded_paths

        @web.middleware
        async def web_config_middleware(
            request: web.Request, handler: Handler
        ) -> web.StreamResponse:
            try:
                if (
                    auth is not None
                    and request.path not in excluded
                    and not await auth.check(request.headers.get("Authorization"))
                ):
                    response: web.StreamResponse = web.Response(
                        status=401,
                        text="Unauthorized\n",
                        headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
                    )
                else:
                    response = await handler(request)
            except web.HTTPException as exc:  # 404s and redirects get the headers too
                exc.headers.update(headers)
                raise
            response.headers.update(headers)
            return response

        return web_config_middleware


class BasicAuth:
    """bcrypt checks in constant time, with successes cached.

    The cache key is an HMAC (with a per-process random key) of user, stored hash and password,
    so the cache holds no password and a changed hash invalidates its entries. Only successes are
    cached: caching failures would let a flood of wrong passwords grow memory. A user that does
    not exist is checked against a decoy hash of the highest configured cost, so a wrong user
    costs as much as a wrong password. bcrypt runs in a thread, one at a time (it is CPU-bound by
    design), so the event loop keeps answering while a check runs.
    """

    def __init__(self, users: Mapping[str, bytes]) -> None:
        self._users = dict(users)
        self._decoy_cost = max(int(_cost(h)) for h in users.values())
        self._decoy: bytes | None = None  # made on first use, in a thread, like exporter-toolkit
        self._cache_key = secrets.token_bytes(32)
        self._ok: set[bytes] = set()
        self._lock = asyncio.Lock()

    @property
    def cached(self) -> int:
        """How many successful checks are remembered."""
        return len(self._ok)

    async def check(self, header: str | None) -> bool:
        """True when ``header`` (an ``Authorization`` value) names a user and their password."""
        credentials = _parse_basic(header)
        if credentials is None:
            return False
        user, password = credentials
        known = self._users.get(user)
        digest = b""
        if known is not None:
            digest = hmac.new(
                self._cache_key, b"\0".join((user.encode(), known, password)), hashlib.sha256
            ).digest()
            if digest in self._ok:
                return True
        async with self._lock:
            if known is None and self._decoy is None:
                self._decoy = await asyncio.to_thread(_make_decoy, self._decoy_cost)
            hashed = known if known is not None else self._decoy
            assert hashed is not None
            ok = await asyncio.to_thread(_bcrypt_check, password, hashed)
        if known is None or not ok:
            return False
        if len(self._ok) >= _CACHE_MAX:
            self._ok.clear()
        self._ok.add(digest)
        return True


def _make_decoy(cost: int) -> bytes:
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(cost))


def _bcrypt_check(password: bytes, hashed: bytes) -> bool:
    if len(password) > _BCRYPT_MAX_PASSWORD:
        # Still pay for one check, so the answer takes as long as any other wrong password.
        bcrypt.checkpw(password[:_BCRYPT_MAX_PASSWORD], hashed)
        return False
    return bcrypt.checkpw(password, hashed)


def _parse_basic(header: str | None) -> tuple[str, bytes] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None


def _cost(hashed: bytes) -> bytes:
    match = _BCRYPT_HASH.match(hashed)
    assert match is not None  # checked at load
    return match.group(1)


def _build_context(tls: TLSServerConfig) -> ssl.SSLContext:
    # OpenSSL says only "PEM lib" for a missing file; open each first to name the one at fault.
    for name, path in (
        ("cert_file", tls.cert_file),
        ("key_file", tls.key_file),
        ("client_ca_file", tls.client_ca_file),
    ):
        if path is not None:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise ValueError(f"{name} {path}: {exc.strerror}") from None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = tls.min_version
    ctx.maximum_version = tls.max_version
    ctx.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.ciphers:
        ctx.set_ciphers(tls.ciphers)
    if tls.prefer_server_ciphers:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if tls.client_ca_file:
        ctx.load_verify_locations(cafile=tls.client_ca_file)
    ctx.verify_mode = tls.verify_mode
    return ctx


def _ssl_problem(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"cannot load certificate or key ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename or 'certificate'}: {exc.strerror}"
    return str(exc)


# -- loading ---------------------------------------------------------------------------------


def _mapping(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConfigError(SETTING, f"{where} must be a mapping")
    return value


def _check_fields(data: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
    for name in data:
        where = f"{prefix}{name}"
        if name in _UNSUPPORTED:
            raise ConfigError(SETTING, f"{where}: {_UNSUPPORTED[name]}")
        if name not in allowed:
            raise ConfigError(SETTING, f"unknown field {where}")


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(SETTING, f"{where} must be a non-empty string")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(SETTING, f"{where} must be true or false")
    return value


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(SETTING, f"{where} must be a list of strings")
    return value


def _path(base: Path, value: object, where: str) -> str:
    # Relative paths are relative to the web config file, as in exporter-toolkit.
    return str(base / _string(value, where))


def _version(value: object, where: str, default: ssl.TLSVersion) -> ssl.TLSVersion:
    if value is None:
        return default
    if value not in _VERSIONS:
        raise ConfigError(SETTING, f"{where}: one of {', '.join(_VERSIONS)}; got {value!r}")
    return _VERSIONS[value]


def _tls(raw: dict[str, Any], base: Path) -> TLSServerConfig | None:
    _check_fields(raw, _TLS_FIELDS, "tls_server_config.")
    if not raw:
        return None
    if "cert_file" not in raw or "key_file" not in raw:
        missing = "cert_file" if "cert_file" not in raw else "key_file"
        raise ConfigError(SETTING, f"tls_server_config.{missing} is required")
    auth = raw.get("client_auth_type") or "NoClientCert"
    if auth in _CLIENT_AUTH_UNSUPPORTED:
        raise ConfigError(
            SETTING,
            f"tls_server_config.client_auth_type {auth} (a certificate that is never verified) "
            "cannot be offered with Python's ssl; use RequireAndVerifyClientCert and "
            "client_ca_file",
        )
    if auth not in _CLIENT_AUTH:
        choices = ", ".join((*_CLIENT_AUTH, "RequireAnyClientCert"))
        raise ConfigError(
            SETTING, f"tls_server_config.client_auth_type: one of {choices}; got {auth!r}"
        )
    verify_mode, needs_ca = _CLIENT_AUTH[auth]
    ca = raw.get("client_ca_file")
    ca_file = None if ca is None else _path(base, ca, "tls_server_config.client_ca_file")
    if needs_ca and ca_file is None:
        raise ConfigError(SETTING, f"tls_server_config.client_ca_file is required for {auth}")
    if ca_file is not None and verify_mode == ssl.CERT_NONE:
        raise ConfigError(
            SETTING,
            "tls_server_config.client_ca_file is set but client_auth_type does not verify "
            "client certificates (use RequireAndVerifyClientCert)",
        )
    min_version = _version(
        raw.get("min_version"), "tls_server_config.min_version", _VERSIONS["TLS12"]
    )
    max_version = _version(
        raw.get("max_version"), "tls_server_config.max_version", ssl.TLSVersion.MAXIMUM_SUPPORTED
    )
    if max_version != ssl.TLSVersion.MAXIMUM_SUPPORTED and max_version < min_version:
        raise ConfigError(SETTING, "tls_server_config.max_version is below min_version")
    ciphers: list[str] = []
    for name in _strings(raw.get("cipher_suites"), "tls_server_config.cipher_suites"):
        if name in _CIPHERS:
            ciphers.append(_CIPHERS[name])
        elif name not in _TLS13_CIPHERS:
            raise ConfigError(SETTING, f"tls_server_config.cipher_suites: unknown cipher {name}")
    for name in _strings(raw.get("curve_preferences"), "tls_server_config.curve_preferences"):
        if name not in _CURVES:
            raise ConfigError(SETTING, f"tls_server_config.curve_preferences: unknown curve {name}")
    prefer = raw.get("prefer_server_cipher_suites", True)
    return TLSServerConfig(
        cert_file=_path(base, raw["cert_file"], "tls_server_config.cert_file"),
        key_file=_path(base, raw["key_file"], "tls_server_config.key_file"),
        verify_mode=verify_mode,
        client_ca_file=ca_file,
        min_version=min_version,
        max_version=max_version,
        ciphers=":".join(ciphers) or None,
        prefer_server_ciphers=_bool(prefer, "tls_server_config.prefer_server_cipher_suites"),
    )


def _headers(raw: dict[str, Any]) -> dict[str, str]:
    _check_fields(raw, _HTTP_FIELDS, "http_server_config.")
    if "http2" in raw:
        _bool(raw["http2"], "http_server_config.http2")  # aiohttp serves HTTP/1.1 only
    headers: dict[str, str] = {}
    for name, value in _mapping(raw.get("headers"), "http_server_config.headers").items():
        if name not in _HEADERS:
            raise ConfigError(
                SETTING,
                f"http_server_config.headers.{name} cannot be configured "
                f"(allowed: {', '.join(_HEADERS)})",
            )
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise ConfigError(
                SETTING, f"http_server_config.headers.{name} must be a one-line string"
            )
        allowed = _HEADERS[name]
        if allowed and value not in allowed:
            raise ConfigError(
                SETTING, f"http_server_config.headers.{name}: one of {', '.join(allowed)}"
            )
        if value:  # blank means unset, as in exporter-toolkit
            headers[name] = value
    return headers


def _users(raw: dict[str, Any]) -> dict[str, bytes]:
    users: dict[str, bytes] = {}
    for name, hashed in raw.items():
        if ":" in name or not name:
            raise ConfigError(SETTING, f"basic_auth_users: invalid user name {name!r}")
        if not isinstance(hashed, str) or not _BCRYPT_HASH.match(hashed.encode()):
            # Never echo the value: a plain password written by mistake would end up in logs.
            raise ConfigError(SETTING, f"basic_auth_users.{name} is not a bcrypt hash")
        users[name] = hashed.encode()
    return users


def load_web_config(path: str) -> WebConfig:
    """Read and validate a web config file; every problem is a :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(SETTING, f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(SETTING, f"{path} is not valid YAML") from None
    top = _mapping(data, path)
    _check_fields(top, _TOP_FIELDS, "")
    base = Path(os.path.dirname(os.path.abspath(path)))
    excluded = _strings(top.get("auth_excluded_paths"), "auth_excluded_paths")
    config = WebConfig(
        tls=_tls(_mapping(top.get("tls_server_config"), "tls_server_config"), base),
        users=MappingProxyType(_users(_mapping(top.get("basic_auth_users"), "basic_auth_users"))),
        headers=MappingProxyType(
            _headers(_mapping(top.get("http_server_config"), "http_server_config"))
        ),
        auth_excluded_paths=frozenset(excluded),
    )
    # Files readable, key matches certificate, CA parses: a ConfigError at load, never later.
    return replace(config, context=config.ssl_context())


__all__ = ["BasicAuth", "TLSServerConfig", "WebConfig", "load_web_config"]
