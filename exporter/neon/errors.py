"""What can go wrong talking to Neon. Messages carry the route and status, never the key."""

from __future__ import annotations


class NeonError(Exception):
    """A request to Neon did not produce a usable answer."""

    def __init__(self, route: str, message: str) -> None:
        super().__init__(f"{route}: {message}")
        self.route = route


class KeyRejected(NeonError):
    """Neon answered 401: the key is invalid or revoked. The only error that trips the key."""


class ApiStatusError(NeonError):
    def __init__(
        self, route: str, status: int, detail: str = "", *, retry_after: float | None = None
    ) -> None:
        """``retry_after``: seconds Neon's ``Retry-After`` asked for (423/429/503), if any."""
        super().__init__(route, f"HTTP {status}{': ' + detail if detail else ''}")
        self.status = status
        self.retry_after = retry_after


class ApiTimeout(NeonError):
    pass


class TransportError(NeonError):
    pass


class MalformedResponse(NeonError):
    pass


class PartialAnswer(NeonError):
    """An area got part of its answer: ``value`` is what it could fetch, ``cause`` why not all
    (e.g. the API key inventory of a key that may not list its organizations: its personal
    keys). The area serves ``value`` and counts as failing, as for any other error."""

    def __init__(self, cause: NeonError, value: object) -> None:
        Exception.__init__(self, str(cause))
        self.route, self.cause, self.value = cause.route, cause, value
