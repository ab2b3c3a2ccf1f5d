"""What the tests' simulator scripts and records: faults, and the requests it served."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    """A scripted misbehaviour of the simulated API (see ``Simulator.inject``)."""

    status: int | None = None
    route: str | None = None
    key_name: str | None = None
    times: int | None = 1
    retry_after: str | None = None
    delay: float = 0.0
    body: bytes | None = None
    content_type: str = "application/json"
    stall: float = 0.0  # seconds to stop for after the headers and half the body

    def matches(self, route: str, key_name: str | None) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.route is not None and self.route != route:
            return False
        return self.key_name is None or self.key_name == key_name


@dataclass(frozen=True)
class RequestRecord:
    """One API request served by the simulator."""

    time: float  # time.monotonic() when the request arrived
    key_name: str | None
    method: str
    route: str  # template without the version prefix, e.g. "/projects/{project_id}"
    status: int
    version: str = "v2"
