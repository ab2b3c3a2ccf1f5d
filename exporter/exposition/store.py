"""The metrics store: each project's sample lines, kept and replaced when its data changes, and
the body assembled from them family by family (kube-state-metrics' ``MetricsStore``).

Order, documented in docs/metrics.md: families in the layout's order (the registry's areas in
turn, each area's families as it declares them); within a family, projects by id, and within a
project the order its family yields (the order Neon lists the items in, unless the area says
otherwise); then the lines of families computed from the whole view. A family with no sample
is not written at all, not even its header.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .family import Family, ProjectData

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

Scope = Literal["project", "view", "sum"]
"""What a family's samples come from: each project (its lines kept per project), the whole
view (re-rendered on every change: account-level data and per-key counts), or each project
summed over all of them (``--metrics.mode=aggregate``)."""

SLICE_SECONDS = 0.005  # work between two yields to the event loop


@dataclass(frozen=True, slots=True)
class Layout:
    """The body's families in order, with where each one's samples come from, and the detail
    areas whose data a project carries (the areas on)."""

    families: tuple[tuple[Family[Any], Scope], ...]
    areas: tuple[str, ...]

    def of(self, scope: Scope) -> tuple[Family[Any], ...]:
        return tuple(f for f, s in self.families if s == scope)


Lines = tuple[bytes, ...]
"""A project's sample lines, per project family in the layout's order. A tuple of bytes only:
the garbage collector stops tracking it, so however many there are, a full collection (which
blocks the event loop) does not walk them."""

Sources = list[tuple[str, Mapping[str, Any]]]  # each detail area on, with its data by project


class Store:
    def __init__(self, layout: Layout, *, slice_seconds: float = SLICE_SECONDS) -> None:
        self.layout = layout
        self.slice_seconds = slice_seconds  # work between two yields of update()
        self._project = layout.of("project")
        self._view = layout.of("view")
        self._sum = layout.of("sum")
        self._kept: dict[str, Lines] = {}  # by project id, in id order
        self._lines: dict[Family[Any], bytes] = {}  # of the view and sum families
        # The view the kept lines render: its list entries and detail by project (the state's
        # own objects, not copies), for the next update to compare with.
        self._seen: tuple[Mapping[str, Any], Sources] = ({}, [])
        self.rendered = 0  # projects rendered so far (tests read it to prove the reuse)

    def update(self, view: View) -> Iterator[None]:
        """Re-render the projects whose data changed, yielding every ``slice_seconds`` of work
        (the async caller gives the event loop a turn there; ``once`` just runs it through)."""
        sources = [(area, view.of(area)) for area in self.layout.areas]
        sums: list[dict[tuple[str, ...], float]] = [{} for _ in self._sum]
        fresh: dict[str, Lines] = {}
        deadline = time.perf_counter() + self.slice_seconds
        for n, pid in enumerate(self._todo(view, sources)):
            detail = {area: d for area, m in sources if (d := m.get(pid)) is not None}
            data = ProjectData(pid, view.projects[pid], detail)
            if not self._same(data, sources):
                fresh[pid] = tuple([f.lines(data).encode() for f in self._project])
                self.rendered += 1
            for total, family in zip(sums, self._sum, strict=True):
                for labels, value in family.samples(data):
                    total[labels] = total.get(labels, 0.0) + value
            if n % 64 == 0 and time.perf_counter() > deadline:
                yield
                deadline = time.perf_counter() + self.slice_seconds
        lines = {f: f.lines(view).encode() for f in self._view}
        for total, family in zip(sums, self._sum, strict=True):
            lines[family] = "".join(family.line(k, v) for k, v in sorted(total.items())).encode()
        self._kept, self._lines = _merged(self._kept, fresh, view.projects), lines
        self._seen = (view.projects, sources)

    def _todo(self, view: View, sources: Sources) -> list[str]:
        """The projects to look at: every one in id order (the sums of the aggregate mode need
        every project), or those whose list entry or detail is not the very object seen last
        time. The poll keeps data fetched again unchanged the same object (``poll.result.same``),
        so a change of 1 % looks at about 1 %, not at every project field by field."""
        if self._sum or not self._kept:
            return sorted(view.projects)
        seen, seen_sources = self._seen
        moved = _moved(view.projects, seen)
        for (_, now), (_, before) in zip(sources, seen_sources, strict=True):
            moved |= _moved(now, before)
            moved.update(before.keys() - now.keys())  # detail gone: its lines go
        return sorted(moved & view.projects.keys())

    def _same(self, data: ProjectData, sources: Sources) -> bool:
        """Whether the kept lines of this project render equal data: its list entry and each
        area's detail equal to those seen last time (equal, not only the same objects)."""
        seen, seen_sources = self._seen
        if data.id not in self._kept or seen.get(data.id) != data.project:
            return False
        return all(
            before.get(data.id) == data.of(area)
            for (area, _), (_, before) in zip(sources, seen_sources, strict=True)
        )

    def parts(self, *, openmetrics: bool) -> list[bytes]:
        """The body as chunks: each family's header and its lines (a family's lines in one
        chunk; the body itself is never joined)."""
        kept = list(self._kept.values())
        column = {f: i for i, f in enumerate(self._project)}
        parts: list[bytes] = []
        for family, scope in self.layout.families:
            if scope == "project":
                i = column[family]
                lines = b"".join([k[i] for k in kept])
            else:
                lines = self._lines.get(family, b"")
            if lines:
                parts += (family.header(openmetrics=openmetrics), lines)
        return parts


def _moved(now: Mapping[str, Any], before: Mapping[str, Any]) -> set[str]:
    """Keys of ``now`` whose value is not the very object ``before`` had (new keys too)."""
    if now is before:
        return set()
    get = before.get
    return {key for key, value in now.items() if get(key) is not value}


def _merged(
    kept: dict[str, Lines], fresh: dict[str, Lines], ids: Mapping[str, Any]
) -> dict[str, Lines]:
    """The kept lines with those just rendered, of the listed projects only, in id order."""
    if kept.keys() == ids.keys():
        return kept | fresh if fresh else kept  # the same projects: their order holds
    # Mostly in order already (the kept ones, then the new): a merge of two runs to sort.
    order = sorted(
        [*(pid for pid in kept if pid in ids), *(pid for pid in fresh if pid not in kept)]
    )
    return {pid: fresh[pid] if pid in fresh else kept[pid] for pid in order}
