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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

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


class Kept(NamedTuple):
    data: ProjectData
    lines: tuple[bytes, ...]  # per project family, in the layout's order


class Store:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._project = layout.of("project")
        self._view = layout.of("view")
        self._sum = layout.of("sum")
        self._kept: dict[str, Kept] = {}
        self._lines: dict[Family[Any], bytes] = {}  # of the view and sum families
        self.rendered = 0  # projects rendered so far (tests read it to prove the reuse)

    def update(self, view: View) -> Iterator[None]:
        """Re-render the projects whose data changed, yielding every ``SLICE_SECONDS`` of work
        (the async caller gives the event loop a turn there; ``once`` just runs it through)."""
        sources = [(area, view.of(area)) for area in self.layout.areas]
        kept, new = self._kept, {}
        sums: list[dict[tuple[str, ...], float]] = [{} for _ in self._sum]
        deadline = time.perf_counter() + SLICE_SECONDS
        for n, pid in enumerate(sorted(view.projects)):
            detail = {area: d for area, m in sources if (d := m.get(pid)) is not None}
            data = ProjectData(pid, view.projects[pid], detail)
            old = kept.get(pid)
            if old is not None and old.data == data:
                new[pid] = Kept(data, old.lines)  # the new data: the old may be freed
            else:
                new[pid] = Kept(data, tuple(f.lines(data).encode() for f in self._project))
                self.rendered += 1
            for total, family in zip(sums, self._sum, strict=True):
                for labels, value in family.samples(data):
                    total[labels] = total.get(labels, 0.0) + value
            if n % 64 == 0 and time.perf_counter() > deadline:
                yield
                deadline = time.perf_counter() + SLICE_SECONDS
        lines = {f: f.lines(view).encode() for f in self._view}
        for total, family in zip(sums, self._sum, strict=True):
            lines[family] = "".join(family.line(k, v) for k, v in sorted(total.items())).encode()
        self._kept, self._lines = new, lines

    def parts(self, *, openmetrics: bool) -> list[bytes]:
        """The body as chunks: each family's header and its lines (a family's lines in one
        chunk; the body itself is never joined)."""
        kept = list(self._kept.values())
        column = {f: i for i, f in enumerate(self._project)}
        parts: list[bytes] = []
        for family, scope in self.layout.families:
            if scope == "project":
                i = column[family]
                lines = b"".join([k.lines[i] for k in kept])
            else:
                lines = self._lines.get(family, b"")
            if lines:
                parts += (family.header(openmetrics=openmetrics), lines)
        return parts
