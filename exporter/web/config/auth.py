"""``basic_auth_users`` and response headers: the aiohttp middleware of a web config."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any

import bcrypt
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from .fields import refuse

REALM = "neon-exporter"
_BCRYPT_HASH = re.compile(rb"^\$2[abxy]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
_BCRYPT_MAX_PASSWORD = 72  # bcrypt>=5 refuses longer passwords; no hash can match one
_CACHE_MAX = 1024


def middleware(
    users: Mapping[str, bytes], headers: Mapping[str, str], excluded: frozenset[str]
) -> Middleware:
    """Basic auth on every path but ``excluded`` (none without ``users``), plus ``headers``.

    Like exporter-toolkit, everything is protected, /healthz included: a probe that cannot
    send credentials can use a TCP check, or list /healthz in ``auth_excluded_paths``.
    """
    auth = BasicAuth(users) if users else None
    extra = dict(headers)

    @web.middleware
    async def web_config_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
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
            exc.headers.update(extra)
            raise
        response.headers.update(extra)
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


def parse_users(raw: dict[str, Any]) -> dict[str, bytes]:
    users: dict[str, bytes] = {}
    for name, hashed in raw.items():
        if ":" in name or not name:
            raise refuse(f"basic_auth_users: invalid user name {name!r}")
        if not isinstance(hashed, str) or not _BCRYPT_HASH.match(hashed.encode()):
            # Never echo the value: a plain password written by mistake would end up in logs.
            raise refuse(f"basic_auth_users.{name} is not a bcrypt hash")
        users[name] = hashed.encode()
    return users
