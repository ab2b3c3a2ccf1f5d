"""``tls_server_config``: exporter-toolkit's TLS settings as an ``ssl`` server context."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .fields import boolean as _bool
from .fields import check_fields, path, refuse, strings

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


def build_context(tls: TLSServerConfig) -> ssl.SSLContext:
    # OpenSSL says only "PEM lib" for a missing file; open each first to name the one at fault.
    for name, file in (
        ("cert_file", tls.cert_file),
        ("key_file", tls.key_file),
        ("client_ca_file", tls.client_ca_file),
    ):
        if file is not None:
            try:
                with open(file, "rb"):
                    pass
            except OSError as exc:
                raise ValueError(f"{name} {file}: {exc.strerror}") from None
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


def ssl_problem(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"cannot load certificate or key ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename or 'certificate'}: {exc.strerror}"
    return str(exc)


def _version(value: object, where: str, default: ssl.TLSVersion) -> ssl.TLSVersion:
    if value is None:
        return default
    if value not in _VERSIONS:
        raise refuse(f"{where}: one of {', '.join(_VERSIONS)}; got {value!r}")
    return _VERSIONS[value]


def _client_auth(raw: Mapping[str, Any], base: Path) -> tuple[ssl.VerifyMode, str | None]:
    """(verify mode, client CA file) from client_auth_type and client_ca_file."""
    auth = raw.get("client_auth_type") or "NoClientCert"
    if auth in _CLIENT_AUTH_UNSUPPORTED:
        raise refuse(
            f"tls_server_config.client_auth_type {auth} (a certificate that is never verified) "
            "cannot be offered with Python's ssl; use RequireAndVerifyClientCert and "
            "client_ca_file"
        )
    if auth not in _CLIENT_AUTH:
        choices = ", ".join((*_CLIENT_AUTH, "RequireAnyClientCert"))
        raise refuse(f"tls_server_config.client_auth_type: one of {choices}; got {auth!r}")
    verify_mode, needs_ca = _CLIENT_AUTH[auth]
    ca = raw.get("client_ca_file")
    ca_file = None if ca is None else path(base, ca, "tls_server_config.client_ca_file")
    if needs_ca and ca_file is None:
        raise refuse(f"tls_server_config.client_ca_file is required for {auth}")
    if ca_file is not None and verify_mode == ssl.CERT_NONE:
        raise refuse(
            "tls_server_config.client_ca_file is set but client_auth_type does not verify "
            "client certificates (use RequireAndVerifyClientCert)"
        )
    return verify_mode, ca_file


def _versions(raw: Mapping[str, Any]) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    min_version = _version(
        raw.get("min_version"), "tls_server_config.min_version", _VERSIONS["TLS12"]
    )
    max_version = _version(
        raw.get("max_version"), "tls_server_config.max_version", ssl.TLSVersion.MAXIMUM_SUPPORTED
    )
    if max_version != ssl.TLSVersion.MAXIMUM_SUPPORTED and max_version < min_version:
        raise refuse("tls_server_config.max_version is below min_version")
    return min_version, max_version


def _ciphers(raw: Mapping[str, Any]) -> str | None:
    """The OpenSSL cipher list of cipher_suites (Go's names); curve_preferences checked only."""
    ciphers: list[str] = []
    for name in strings(raw.get("cipher_suites"), "tls_server_config.cipher_suites"):
        if name in _CIPHERS:
            ciphers.append(_CIPHERS[name])
        elif name not in _TLS13_CIPHERS:
            raise refuse(f"tls_server_config.cipher_suites: unknown cipher {name}")
    for name in strings(raw.get("curve_preferences"), "tls_server_config.curve_preferences"):
        if name not in _CURVES:
            raise refuse(f"tls_server_config.curve_preferences: unknown curve {name}")
    return ":".join(ciphers) or None


def parse_tls(raw: dict[str, Any], base: Path) -> TLSServerConfig | None:
    """The ``tls_server_config`` mapping; None when empty (plain HTTP). Relative file names
    are relative to ``base``, the web config file's directory."""
    check_fields(raw, _TLS_FIELDS, "tls_server_config.")
    if not raw:
        return None
    if "cert_file" not in raw or "key_file" not in raw:
        missing = "cert_file" if "cert_file" not in raw else "key_file"
        raise refuse(f"tls_server_config.{missing} is required")
    verify_mode, ca_file = _client_auth(raw, base)
    min_version, max_version = _versions(raw)
    prefer = raw.get("prefer_server_cipher_suites", True)
    return TLSServerConfig(
        cert_file=path(base, raw["cert_file"], "tls_server_config.cert_file"),
        key_file=path(base, raw["key_file"], "tls_server_config.key_file"),
        verify_mode=verify_mode,
        client_ca_file=ca_file,
        min_version=min_version,
        max_version=max_version,
        ciphers=_ciphers(raw),
        prefer_server_ciphers=_bool(prefer, "tls_server_config.prefer_server_cipher_suites"),
    )
