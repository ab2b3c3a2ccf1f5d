"""What an area is: one surface of the Neon API, from its requests to its series.

An area names itself (``--[no-]collector.NAME``, the ``collector`` label of
``neon_exporter_collector_success``), says whether it is on by default and what it costs in
requests, fetches its data through the Neon client, and declares its metric families: what
each project's data (or the whole view, for account-level data) becomes. The registry in
``__init__.py`` lists them; config, poller, state, the exposition and docs iterate over it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..exposition.family import Family, ProjectData
from ..neon.client import NeonClient

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

FetchOne = Callable[[NeonClient, str], Awaitable[Any | None]]
"""One project's detail of the area; None when the project is gone (404)."""

FetchAccount = Callable[[NeonClient], Awaitable[Any]]
"""An account-level area's data for one key (not per project)."""

FetchBatch = Callable[
    [NeonClient, str, Sequence[str], datetime], Awaitable[Mapping[str, Any] | None]
]
"""Detail of many projects of one organization (``""``: none) in one request: the values of the
projects Neon reported (the others have none); None when the plan does not offer the route
(403): the next route then, or per project."""


@dataclass(frozen=True, slots=True)
class BatchRoute:
    """A route serving an area's detail for many projects a request."""

    route: str  # its template: for the log line, and the planner's memory of denials
    fetch: FetchBatch
    size: int  # projects per request at most
    needs_org: bool = False  # only for projects that belong to an organization


@dataclass(frozen=True, slots=True)
class Area:
    name: str
    default: bool  # on unless --no-collector.NAME
    help: str  # one line for --help and docs/configuration.md
    cost: str  # its requests, as docs/metrics.md states them
    # Its series: per project (each project's lines kept until its data changes), then from
    # the whole view (account-level data, per-key counts), in this order on /metrics.
    families: tuple[Family[ProjectData], ...] = ()
    view_families: tuple[Family[View], ...] = ()
    # --metrics.mode=aggregate: families whose samples are summed over every project, served
    # instead of ``families`` (``view_families`` are served in both modes).
    sums: tuple[Family[ProjectData], ...] = ()
    # Per-project detail refreshed in the budgeted rotation; None for the project list itself.
    fetch: FetchOne | None = None
    # Account-level data (one per key, not per project), refreshed on its interval.
    fetch_account: FetchAccount | None = None
    # Refreshed every --collector.NAME.interval (the Config field NAME_interval, a row of
    # settings.AREA_INTERVALS) rather than at every rotation; account-level areas always are.
    on_interval: bool = False
    # Many projects per request where the plan allows it, best first: each project is served by
    # the first route not denied to its organization; ``fetch`` is the fallback.
    batches: tuple[BatchRoute, ...] = ()
    # An opt-in view of another area's data (its name): no requests of its own.
    renders: str | None = None
    # Requests one project's fetch took, from its answer, where that can be more than one
    # (see exporter/costs.py); None: always one.
    cost_of: Callable[[Any], int] | None = None
    # Its account-level value is a tuple of projects (deleted, shared): the poll keeps only
    # those ``--projects.*`` select, as it does with the project list.
    lists_projects: bool = False

    @property
    def interval_setting(self) -> str | None:
        """The Config field of its refresh interval; None: refreshed at every rotation."""
        return f"{self.name}_interval" if self.on_interval else None

    @property
    def detail(self) -> bool:
        """Whether the area fetches per-project detail."""
        return self.fetch is not None

    @property
    def account_level(self) -> bool:
        """Whether its series are per key (account data, or a view of it), not per project."""
        return self.fetch_account is not None or self.renders is not None

    @property
    def switchable(self) -> bool:
        """Whether ``--[no-]collector.NAME`` turns it on or off (all but the project list)."""
        return self.detail or self.account_level
