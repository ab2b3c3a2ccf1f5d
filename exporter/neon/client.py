"""Talks to the Neon API for one key: auth, pacing, retries, error classes, typed calls.

One :class:`NeonClient` per key, each on its own ``aiohttp.ClientSession`` so one key's
connection trouble or pause never stalls another's.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Collection
from typing import Literal, TypeVar

import aiohttp
import structlog

from .budget import TokenBucket, pause
from .errors import (
    ApiStatusError,
    ApiTimeout,
    KeyRejected,
    MalformedResponse,
    NeonError,
    TransportError,
)
from .fields import ParseError
from .http import retry_after_seconds
from .models import AuthDetails, Project, ProjectPage
from .parse import (
    parse_auth,
    parse_v1_projects,
    parse_v2_projects_page,
)

log = structlog.get_logger("exporter.neon")
PAGE_LIMIT = 400  # the largest page GET /projects allows
MAX_PAGES = 1000  # 400,000 projects: past this the cursor is not ending, not a real account
MAX_BODY_BYTES = 32 * 1024 * 1024  # a full page is well under 1 MiB
# Each project list: (route as counted, path, parameters). The recoverable list is counted
# apart from the live one though both are GET /projects.
_PROJECT_LISTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "live": ("/projects", "/projects", {}),
    "recoverable": ("/projects?recoverable=true", "/projects", {"recoverable": "true"}),
    "shared": ("/projects/shared", "/projects/shared", {}),
}
RETRY_STATUSES = frozenset({423, 429, 503})
MAX_RETRY_WAIT = 120.0  # a Retry-After longer than this fails the request instead of stalling

RequestHook = Callable[[str, str], None]
"""Called once per HTTP attempt with (route template, status code | "timeout" | "error")."""
SkipHook = Callable[[str, int], None]
"""Called with (route template, items skipped) when a page held malformed items."""
T = TypeVar("T")


class NeonClient:
    def __init__(
        self,
        *,
        key_name: str,
        secret: Callable[[], str],
        org_id: str | None = None,
        base_url: str,
        session: aiohttp.ClientSession,
        bucket: TokenBucket,
        max_concurrency: int,
        on_request: RequestHook,
        on_skipped: SkipHook,
        on_cursor_repeat: Callable[[str], None] | None = None,
        on_pause_capped: Callable[[], None] | None = None,
        retries: int = 4,
        backoff_base: float = 0.5,
    ) -> None:
        self.key_name = key_name
        self.org_id = org_id
        # Called per request: a key file may have been rotated. The key source registers what it
        # returns with the log redaction (config/keys.py), so no key reaches a log line.
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.version: Literal["v1", "v2"] = "v1" if self.base_url.endswith("/api/v1") else "v2"
        self._session = session
        self._bucket = bucket
        self.max_concurrency = max_concurrency
        self._sem = asyncio.Semaphore(max_concurrency)
        self._on_request = on_request
        self._on_skipped = on_skipped
        self._on_cursor_repeat = on_cursor_repeat
        self._on_pause_capped = on_pause_capped
        self._retries = retries
        self._backoff_base = backoff_base
        self.auth: AuthDetails | None = None  # the last good GET /auth answer (see probe)

    async def get(self, route: str, path: str, params: dict[str, str] | None = None) -> object:
        """GET ``path`` with pacing and retries (``route`` is its template, for counting and
        errors): decoded JSON, or a :class:`NeonError` once retries are spent."""
        for attempt in range(self._retries + 1):
            try:
                return await self._attempt(route, path, params)
            except ApiStatusError as exc:
                if exc.status not in RETRY_STATUSES or attempt == self._retries:
                    raise
                status, wait = exc.status, exc.retry_after
            # The key is paused already (see _send); this request just waits it out too.
            if wait is None:
                wait = random.uniform(0, self._backoff_base * 2**attempt)
            elif wait > MAX_RETRY_WAIT:
                raise ApiStatusError(route, status, f"Retry-After {wait:.0f}s is too long")
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, route: str, path: str, params: dict[str, str] | None) -> object:
        """One paced attempt: a token, then a concurrency slot, then the request."""
        await self._bucket.acquire()
        try:
            secret = self._secret()
        except (OSError, ValueError) as exc:
            raise TransportError(route, f"cannot read key: {type(exc).__name__}") from None
        headers = {"Authorization": f"Bearer {secret}"}
        async with self._sem:
            # A Retry-After may have come while this request queued for its slot, its token
            # taken before: the token is no leave to send during the pause.
            await self._bucket.wait_unpaused()
            return await self._send(route, path, params, headers)

    async def _send(
        self, route: str, path: str, params: dict[str, str] | None, headers: dict[str, str]
    ) -> object:
        """One HTTP request, counted once in ``on_request``: by its status when the answer was
        read, as ``timeout`` or ``error`` when it was not (a body that stalls after a 200 status
        line is a timeout, not a 200). Cancelled before any answer, it is not counted."""
        code: str | None = None
        try:
            async with self._session.get(
                self.base_url + path, params=params, headers=headers
            ) as resp:
                status = resp.status
                code = str(status)
                if status == 200:
                    return await self._json(route, resp)
                if status == 401:
                    raise KeyRejected(route, "HTTP 401: key invalid or revoked")
                wait = None
                if status in RETRY_STATUSES:
                    wait = retry_after_seconds(resp.headers.get("Retry-After"))
                    if wait is not None:
                        # Every request of the key waits, whether or not this one is retried
                        # (last attempt, or a wait over the cap), the key probe included.
                        pause(self._bucket, wait, self._on_pause_capped, key=self.key_name)
                detail = await self._error_detail(resp)
                raise ApiStatusError(route, status, detail, retry_after=wait)
        except TimeoutError:
            code = "timeout"
            raise ApiTimeout(route, "timed out") from None
        except aiohttp.ClientError as exc:
            code = "error"
            # str() of aiohttp's errors names host and cause; repr() would carry the
            # request headers, and with them the key.
            raise TransportError(route, f"{type(exc).__name__}: {exc}") from None
        finally:
            if code is not None:
                self._on_request(route, code)

    async def _json(self, route: str, resp: aiohttp.ClientResponse) -> object:
        if resp.content_length is not None and resp.content_length > MAX_BODY_BYTES:
            raise MalformedResponse(
                route, f"body of {resp.content_length} bytes is over the {MAX_BODY_BYTES} byte cap"
            )
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise MalformedResponse(route, f"body over the {MAX_BODY_BYTES} byte cap")
            chunks.append(chunk)
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError):
            ctype = resp.headers.get("Content-Type", "?")
            raise MalformedResponse(route, f"body is not JSON (Content-Type {ctype})") from None

    @staticmethod
    async def _error_detail(resp: aiohttp.ClientResponse) -> str:
        try:
            data = json.loads(await resp.content.read(4096))
        except (ValueError, aiohttp.ClientError, TimeoutError):
            return ""
        message = data.get("message") if isinstance(data, dict) else None
        return message[:200] if isinstance(message, str) else ""

    async def probe(self) -> AuthDetails | None:
        """The cheap key check: ``GET /auth`` (v2) or ``GET /projects`` (v1). Raises on failure.

        v2 answers what kind of key it is and whose (None on v1); kept in :attr:`auth` too, for
        areas that depend on it (an organization key has no personal key list). A 200 whose
        body is not an AuthDetailsResponse still accepts the key: :attr:`auth` keeps its last
        good value and None is returned."""
        if self.version == "v1":
            await self.get("/projects", "/projects")
            return None
        data = await self.get("/auth", "/auth")
        try:
            self.auth = parse_auth(data)
        except ParseError:
            log.warning("GET /auth answered without account_id/auth_method", key=self.key_name)
            return None
        return self.auth

    async def project_pages(
        self, *, which: Literal["live", "recoverable", "shared"] = "live"
    ) -> AsyncIterator[ProjectPage]:
        """Every page of a project list: the key's live projects (v1: a single bare array),
        its deleted projects that can still be restored, or those other accounts share with
        it (both v2 only)."""
        if self.version == "v1":
            data = await self.get("/projects", "/projects")
            projects = self.parse("/projects", parse_v1_projects, data)
            yield ProjectPage(projects, None, (), 0)
            return
        route, path, params = _PROJECT_LISTS[which]
        params = {**params, "limit": str(PAGE_LIMIT)}
        if self.org_id and which != "shared":  # the shared list takes no org_id
            params["org_id"] = self.org_id
        seen_cursors: set[str] = set()
        for _ in range(MAX_PAGES):
            data = await self.get(route, path, params)
            page = self.parse_whole(route, parse_v2_projects_page, data)
            self.count_skipped(route, page.skipped)
            yield page
            # Neon returns a cursor even on the last page, so a short or empty page ends the
            # list; a missing or repeated cursor ends it too rather than looping forever.
            if len(page.projects) + page.skipped < PAGE_LIMIT or page.cursor is None:
                return
            if page.cursor in seen_cursors:
                raise MalformedResponse(route, "pagination cursor repeats")
            seen_cursors.add(page.cursor)
            params["cursor"] = page.cursor
        raise MalformedResponse(route, f"more than {MAX_PAGES} pages")

    async def get_unless(
        self,
        route: str,
        path: str,
        params: dict[str, str] | None = None,
        *,
        absent: Collection[int] = (404,),
        note: str = "",
    ) -> object | None:
        """As :meth:`get`, but None where Neon answers one of the ``absent`` statuses: what an
        area reads is not there for this key (404: deleted since listed; 403: not on the plan,
        or not allowed), which is no failure. ``note``: logged at info when it happens."""
        try:
            return await self.get(route, path, params)
        except ApiStatusError as exc:
            if exc.status not in absent:
                raise
            if note:
                log.info(note, key=self.key_name, path=path, status=exc.status)
            return None

    def parse(self, route: str, parse: Callable[[object], tuple[T, int]], data: object) -> T:
        """Parse an answer whose malformed items are skipped (and counted), not fatal."""
        value, skipped = self.parse_whole(route, parse, data)
        self.count_skipped(route, skipped)
        return value

    @staticmethod
    def parse_whole(route: str, parse: Callable[[object], T], data: object) -> T:
        """Parse an answer that is usable whole or not at all."""
        try:
            return parse(data)
        except ParseError as exc:
            raise MalformedResponse(route, str(exc)) from None

    def cursor_repeated(self, route: str, **context: object) -> None:
        """A paged answer sent a cursor it sent before: the caller keeps what it has read."""
        log.warning(
            "pagination cursor repeats: keeping the pages read so far",
            key=self.key_name,
            route=route,
            **context,
        )
        if self._on_cursor_repeat is not None:
            self._on_cursor_repeat(route)

    @property
    def budget_per_minute(self) -> float:
        return self._bucket.rate * 60.0

    def tokens(self) -> float:
        """Requests the budget would let through right now without waiting."""
        return self._bucket.available()

    def count_skipped(self, route: str, skipped: int) -> None:
        """Items of an answer skipped because a field the exporter needs was missing or bad."""
        if skipped:
            self._on_skipped(route, skipped)


__all__ = ["NeonClient", "NeonError", "Project"]
