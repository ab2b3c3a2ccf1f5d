"""Phase 1 of a poll: the project list, every page, but the projects the selection leaves out;
the v1 API's poll, which is the list alone."""

from __future__ import annotations

from types import MappingProxyType

from ..neon.client import NeonClient
from ..neon.models import Project
from .result import PollResult, same
from .selection import EVERY_PROJECT, Selection


async def list_projects(
    client: NeonClient, previous: PollResult | None, selection: Selection = EVERY_PROJECT
) -> tuple[dict[str, Project], set[str], int]:
    """Phase 1: every page of the project list, but the projects ``selection`` leaves out.
    Projects in ``unavailable_project_ids`` (Neon could not load them in time) keep their
    previous entry: a partial page never makes a project vanish. Returns the projects, the
    ids so kept, and how many the selection left out."""
    projects: dict[str, Project] = {}
    unavailable: set[str] = set()
    left_out = 0
    before = previous.projects if previous is not None else {}
    async for page in client.project_pages():
        for project in page.projects:
            if project.deleted_at is not None:  # a deleted project never looks live
                continue
            if selection.keeps(project):
                projects[project.id] = same(before.get(project.id), project)
            else:
                left_out += 1
        unavailable.update(page.unavailable_project_ids)
    kept = set()
    if previous is not None:
        for pid in unavailable - projects.keys():
            if pid in previous.projects:
                projects[pid] = previous.projects[pid]
                kept.add(pid)
    return projects, kept, left_out


async def poll_v1(
    client: NeonClient, previous: PollResult | None, now: float, selection: Selection
) -> PollResult:
    """The v1 API has the project list only: one request, no detail."""
    projects, _, left_out = await list_projects(client, previous, selection)
    return PollResult(client.key_name, now, MappingProxyType(projects), left_out=left_out)


async def listed(
    client: NeonClient, previous: PollResult | None, selection: Selection, *, list_due: bool
) -> tuple[dict[str, Project], set[str], int]:
    """Phase 1 when the list is due (see :func:`list_projects`), else the previous poll's."""
    if list_due or previous is None:
        return await list_projects(client, previous, selection)
    return dict(previous.projects), set(), previous.left_out  # rotation only
