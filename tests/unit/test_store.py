"""The store looks again only at projects whose data is not the very object it saw, renders
again only those whose data is not equal, and its body is always that of a fresh store."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import MappingProxyType

from exporter.areas import layout
from exporter.exposition.store import Store
from exporter.neon.models import Endpoint, Project
from exporter.poll.state import PollResult, State, View
from tests.procs import sample
from tests.support import exposition_of

LAYOUT = layout(("projects", "endpoints"))


def project(pid: str, size: int = 1) -> Project:
    return Project(pid, pid, "aws-us-east-2", "aws", "", 16, size)


def endpoints(pid: str, state: str = "idle") -> tuple[Endpoint, ...]:
    return (Endpoint(f"ep-{pid}", pid, f"br-{pid}", "read_write", state, None, 0.25, 2, 0, 1e9),)


def view(projects: list[Project], eps: dict[str, tuple[Endpoint, ...]]) -> View:
    detail = MappingProxyType({"endpoints": MappingProxyType(eps)})
    per_key = MappingProxyType({"k": len(projects)})
    return View(MappingProxyType({p.id: p for p in projects}), per_key, detail)


def body(store: Store) -> bytes:
    return b"".join(store.parts(openmetrics=True))


def updated(store: Store, v: View) -> int:
    """Update ``store`` to ``v``; the projects it rendered. Its body is a fresh store's."""
    before = store.rendered
    for _ in store.update(v):
        pass
    fresh = Store(LAYOUT)
    for _ in fresh.update(v):
        pass
    assert body(store) == body(fresh)
    return store.rendered - before


def test_only_changed_projects_render_again() -> None:
    ps = [project(pid) for pid in ("b", "d", "f")]
    eps = {p.id: endpoints(p.id) for p in ps}
    store = Store(LAYOUT)
    assert updated(store, view(ps, eps)) == 3
    assert updated(store, view(ps, eps)) == 0  # the same objects
    # Equal data in new objects, as a poll parses it: compared, not rendered again.
    copies = [replace(p) for p in ps]
    assert updated(store, view(copies, {pid: endpoints(pid) for pid in eps})) == 0
    changed = [copies[0], replace(copies[1], size_bytes=7), copies[2]]
    assert updated(store, view(changed, eps)) == 1
    woken = dict(eps, f=endpoints("f", state="active"))
    assert updated(store, view(changed, woken)) == 1


def test_projects_and_detail_come_and_go() -> None:
    ps = [project(pid) for pid in ("b", "d", "f")]
    eps = {p.id: endpoints(p.id) for p in ps}
    store = Store(LAYOUT)
    updated(store, view(ps, eps))
    added = [*ps, project("a"), project("e")]  # before and between the kept ones
    assert updated(store, view(added, eps)) == 2
    assert updated(store, view(added, {"b": eps["b"], "f": eps["f"]})) == 1  # d's detail gone
    assert b'endpoint_id="ep-d"' not in body(store)
    assert updated(store, view(added[:2], eps)) == 1  # d is back with its detail; f, a, e go
    assert b'project_id="e"' not in body(store)


def _result(size: int) -> PollResult:
    projects = MappingProxyType({"p": project("p", size)})
    return PollResult("k", 0.0, projects)


async def test_a_poll_landing_during_an_update_is_served_by_the_next_scrape() -> None:
    """The store yields to the event loop in the middle of an update; a result published then
    is rendered by the next scrape (the scrape under way serves the view it started from)."""
    state = State(keys=("k",), max_age=1e12, clock=lambda: 0.0)
    state.record_poll("k", _result(1), 1.0)
    exposition = exposition_of(state, ("projects",))
    exposition.store.slice_seconds = 0.0  # a yield after every first project of a slice
    scrape = asyncio.ensure_future(exposition.body(openmetrics=False, gzipped=False))
    await asyncio.sleep(0)  # the scrape runs to the store's first yield (no other awaits)
    assert exposition.store.rendered == 1  # the update is under way
    state.record_poll("k", _result(2), 1.0)
    assert sample((await scrape).decode(), "neon_project_size_bytes", {"project_id": "p"}) == 1
    body = await exposition.body(openmetrics=False, gzipped=False)
    assert sample(body.decode(), "neon_project_size_bytes", {"project_id": "p"}) == 2
