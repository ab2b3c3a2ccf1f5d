"""Projects other accounts share with the key's account: ``GET /projects/shared``
(``--collector.shared``, off by default; v2 only), one request per 400 shared projects per key,
every ``--collector.shared.interval`` (1h by default).

Shared projects are not the account's own: they never appear in ``neon_project_*`` (so counts
and sums of owned projects stay right) but in series of their own. A project one configured key
owns and another has shared with it is shown as owned only.

Sample::

    neon_shared_project_info{org_id="org-partner-40000000",permission="CAN_VIEW",pg_version="17",project_id="calm-sea-123456",project_name="calm-sea",region_id="aws-eu-central-1"} 1.0
    neon_shared_project_size_bytes{project_id="calm-sea-123456"} 1.048576e+07
    neon_shared_projects{key="prod"} 1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, cast

from ..exposition.family import Family, Sample, info, one
from ..neon.client import NeonClient
from ..neon.models import Project
from .base import Area

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

NAME = "shared"


async def fetch(client: NeonClient) -> tuple[Project, ...]:
    """Every project shared with the key's account (v1 has no such list: none)."""
    if client.version == "v1":
        return ()
    out: dict[str, Project] = {}
    async for page in client.project_pages(which="shared"):
        out.update((p.id, p) for p in page.projects)
    return tuple(out.values())


def shared_of(view: View) -> dict[str, Project]:
    """Shared projects over keys, each once; none that a configured key owns (live)."""
    per_key = cast(Mapping[str, tuple[Project, ...]], view.per_key(NAME))
    return {p.id: p for projects in per_key.values() for p in projects if p.id not in view.projects}


def _shared(
    value: Callable[[str, Project], Iterable[Sample]],
) -> Callable[[View], Iterable[Sample]]:
    """Samples of every shared project, by id."""
    return lambda view: (s for pid, p in sorted(shared_of(view).items()) for s in value(pid, p))


def _per_key(view: View) -> Iterable[Sample]:
    per_key = cast(Mapping[str, tuple[Project, ...]], view.per_key(NAME))
    return (((key,), float(len(projects))) for key, projects in sorted(per_key.items()))


VIEW_FAMILIES: tuple[Family[View], ...] = (
    Family(
        "neon_shared_project_info",
        "A Neon project another account shares with a key's account (polled; not one of "
        "neon_project_*); always 1.",
        ("project_id", "project_name", "region_id", "org_id", "pg_version", "permission"),
        _shared(
            lambda pid, p: info(pid, p.name, p.region_id, p.org_id, str(p.pg_version), p.permission)
        ),
        kind="info",
    ),
    Family(
        "neon_shared_project_size_bytes",
        "Storage size of the shared project in bytes (synthetic_storage_size), as last polled.",
        ("project_id",),
        _shared(lambda pid, p: one(p.size_bytes, pid)),
    ),
    Family(
        "neon_shared_projects",
        "Projects other accounts share with this key's account, in its last good list.",
        ("key",),
        _per_key,
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="projects other accounts share with the key's account (every --collector.shared.interval, hourly by default)",
    cost="ceil(shared projects / 400) requests per key per interval (one for most accounts)",
    view_families=VIEW_FAMILIES,
    fetch_account=fetch,
    on_interval=True,
    lists_projects=True,
)
