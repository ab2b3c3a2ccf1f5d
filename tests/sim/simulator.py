"""The tests' simulator: the package's read-only simulator plus faults, a request log and
in-process control of its world (the HTTP control API is in ``control.py``)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Collection
from typing import Any

from aiohttp import web

from exporter.simulator import SimEndpoint, error_response
from exporter.simulator import Simulator as DemoSimulator
from exporter.simulator.app import ApiHandler, Handler
from tests.sim.control import add_control_routes
from tests.sim.faults import Fault, RequestRecord

DEFAULT_REQUEST_LOG = 100_000  # a bench run at 10,000 projects fits; about 15 MB at most


class Simulator(DemoSimulator):
    """The simulated control plane with faults, a request log and control over its world."""

    def __init__(self, *, request_log: int = DEFAULT_REQUEST_LOG, **world: Any) -> None:
        """``request_log``: how many recent requests ``requests`` keeps (a ring, so a simulator
        that runs for long stays the same size); ``world``: as the package's simulator."""
        if request_log < 1:
            raise ValueError("request_log must be at least 1")
        super().__init__(**world)
        self._faults: list[Fault] = []
        self.requests: deque[RequestRecord] = deque(maxlen=request_log)
        self.requests_total = 0  # every request served, including those the ring let go

    # -- control ---------------------------------------------------------------------------------

    def add_project(
        self,
        *,
        project_id: str | None = None,
        name: str | None = None,
        pg_version: int = 16,
        region_id: str = "aws-us-east-2",
        org_id: str | None = None,
        size_bytes: int = 0,
        endpoints: int = 1,
        visible_to: Collection[str] | None = None,
        pooler_fields: bool = True,
    ) -> str:
        """Add a project (idle endpoints, pooler off); returns its id. ``pooler_fields=False``:
        its endpoints answer without the deprecated pooler fields."""
        return self.world.add_project(
            project_id=project_id,
            name=name,
            pg_version=pg_version,
            region_id=region_id,
            org_id=org_id,
            size_bytes=size_bytes,
            endpoints=endpoints,
            visible_to=visible_to,
            pooler_fields=pooler_fields,
        )

    def remove_project(self, project_id: str) -> None:
        self.world.remove_project(project_id)

    def set_endpoint(
        self, endpoint_id: str, *, state: str | None = None, pooler_enabled: bool | None = None
    ) -> None:
        self.world.set_endpoint(endpoint_id, state=state, pooler_enabled=pooler_enabled)

    def set_project(
        self, project_id: str, *, size_bytes: int | None = None, name: str | None = None
    ) -> None:
        self.world.set_project(project_id, size_bytes=size_bytes, name=name)

    def add_branches(self, project_id: str, count: int) -> list[str]:
        """Add ``count`` non-default branches to a project; returns their ids."""
        return self.world.add_branches(project_id, count)

    def project_ids(self) -> list[str]:
        return list(self.world.sorted_ids)

    def endpoints_of(self, project_id: str) -> list[SimEndpoint]:
        return list(self.world.projects[project_id].endpoints)

    def inject(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def mark_unavailable(self, project_ids: Collection[str]) -> None:
        """List these ids in ``unavailable_project_ids`` instead of the v2 pages; [] clears."""
        self.world.unavailable = frozenset(project_ids)

    def count(
        self, route: str | None = None, key_name: str | None = None, status: int | None = None
    ) -> int:
        """How many of the recorded requests (see ``request_log``) match a route / key / status."""
        return sum(
            1
            for r in self.requests
            if (route is None or r.route == route)
            and (key_name is None or r.key_name == key_name)
            and (status is None or r.status == status)
        )

    # -- app -------------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = super().make_app()
        add_control_routes(app, self)
        return app

    def _api(self, version: str, route: str, handler: ApiHandler) -> Handler:
        """The package's route, with every request recorded (a 401 too, and 499 when the client
        went away, e.g. timed out during a fault's delay)."""
        answer = super()._api(version, route, handler)

        async def recorded(request: web.Request) -> web.StreamResponse:
            arrived = time.monotonic()
            key_name, _ = self._authenticate(request)
            status = 500
            try:
                response = await answer(request)
                status = response.status
                return response
            except asyncio.CancelledError:
                status = 499
                raise
            finally:
                self.requests_total += 1
                self.requests.append(
                    RequestRecord(arrived, key_name, request.method, route, status, version)
                )

        return recorded

    def _take_fault(self, route: str, key_name: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(route, key_name):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    async def _answer(
        self, request: web.Request, route: str, key_name: str, handler: ApiHandler
    ) -> web.StreamResponse:
        fault = self._take_fault(route, key_name)
        if fault is None:
            return await handler(request, key_name)
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        response: web.StreamResponse
        if fault.body is not None:
            response = web.Response(
                status=fault.status or 200,
                body=fault.body,
                headers={"Content-Type": fault.content_type},
            )
        elif fault.status is not None:
            response = error_response(fault.status)
        else:
            response = await handler(request, key_name)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        if fault.stall > 0 and isinstance(response, web.Response):
            return await _stalled(request, response, fault.stall)
        return response


async def _stalled(request: web.Request, answer: web.Response, stall: float) -> web.StreamResponse:
    """``answer`` sent as headers and half its body, then nothing for ``stall`` seconds: a read
    timeout after the status line has been seen."""
    body = answer.body if isinstance(answer.body, bytes) else b""
    out = web.StreamResponse(status=answer.status, headers=answer.headers)
    out.content_length = len(body)
    await out.prepare(request)
    await out.write(body[: len(body) // 2])
    await asyncio.sleep(stall)
    await out.write(body[len(body) // 2 :])
    await out.write_eof()
    return out
