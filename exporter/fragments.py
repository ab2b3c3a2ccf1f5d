"""Each project's sample lines, rendered by the areas' collectors and kept while its data holds.

The collectors stay the one definition of every series: a project is rendered by running them
over a view of that project alone, and the families they yield are split into slots (one per
metric family, in the registry's order). Series that are not per project (``neon_projects{key}``)
come from one more run over a view with no projects: the non-project part. A family is in the
exposition when any of these runs yields it, so a collector that yields a family only when it
has data behaves as it does over the whole view.

Sample lines are the same bytes in the classic text format and OpenMetrics for the series the
collectors make (gauges and infos, no timestamps or exemplars), so they are kept once; only the
HELP/TYPE headers differ per format, and those are rendered by prometheus_client itself. A test
(tests/unit/test_fragments.py) proves the assembled bytes equal prometheus_client's rendering
of the same view, in both formats, also after projects are added, changed and removed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

from prometheus_client import exposition as text_format
from prometheus_client.core import Metric
from prometheus_client.openmetrics import exposition as om_format
from prometheus_client.utils import floatToGoString

from .areas import AREAS, Area, rendered
from .packed import Kept, Lines
from .state import View

_EOF = b"# EOF\n"
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NEEDS_ESCAPE = re.compile(r'[\\\n"]')
# Values most samples carry (state and info series): formatted once.
_COMMON_VALUES = {0.0: "0.0", 1.0: "1.0"}
_go = cast(Callable[[float], str], floatToGoString)  # Go's float format, as the formats use


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


@dataclass(frozen=True, slots=True)
class _Shape:
    """How to print samples of one name and label set: prometheus_client's order (labels
    sorted by name) as a format string."""

    order: tuple[str, ...]
    template: str

    @staticmethod
    def of(family: str, name: str, label_names: Iterable[str]) -> _Shape:
        order = tuple(sorted(label_names))
        names = (name, *order)
        if any(om_format.escape_metric_name(n) != n for n in names) or "{" in name:
            raise ValueError(f"unsupported metric or label name in {name}{order}")
        if name != family and name[len(family) :] in ("_created", "_gsum", "_gcount"):
            raise ValueError(f"{name}: the text format moves these samples")
        inner = ",".join(f'{k}="{{}}"' for k in order)
        return _Shape(order, f"{name}{{{{{inner}}}}} {{}}\n" if order else f"{name} {{}}\n")


_SHAPES: dict[tuple[str, str, tuple[str, ...]], _Shape] = {}


def format_samples(metric: Metric) -> str:
    """The family's sample lines, byte for byte as prometheus_client prints them in either
    format; families using what the two formats print differently are refused."""
    out = []
    family = metric.name
    for name, labels, value, timestamp, exemplar, histogram in metric.samples:
        if timestamp is not None or exemplar is not None or histogram is not None:
            raise ValueError(f"{family}: timestamps, exemplars and native histograms differ")
        key = (family, name, tuple(labels))
        shape = _SHAPES.get(key)
        if shape is None:
            shape = _SHAPES[key] = _Shape.of(family, name, labels)
        values = [labels[k] for k in shape.order]
        if _NEEDS_ESCAPE.search("".join(values)):
            values = [_escape(v) for v in values]
        out.append(shape.template.format(*values, _COMMON_VALUES.get(value) or _go(value)))
    return "".join(out)


class _One:
    """A registry of one family, for prometheus_client to print its header."""

    def __init__(self, metric: Metric) -> None:
        self.metric = metric

    def collect(self) -> Iterable[Metric]:
        return (self.metric,)


def family_header(metric: Metric, *, openmetrics: bool) -> bytes:
    """HELP/TYPE (and UNIT) of a family, as prometheus_client prints them."""
    empty = Metric(metric.name, metric.documentation, metric.type, metric.unit)
    if openmetrics:
        text = bytes(om_format.generate_latest(_One(empty)))  # type: ignore[no-untyped-call]
        return text[: -len(_EOF)] if text.endswith(_EOF) else text
    return bytes(text_format.generate_latest(_One(empty)))


@dataclass(slots=True)
class Slot:
    """One metric family: its place, its header per format, and how many projects yield it."""

    index: int
    area: Area
    metric: Metric  # the family without samples
    headers: dict[bool, bytes] = field(default_factory=dict)  # openmetrics -> header
    projects: int = 0  # projects whose render yields the family

    def header(self, *, openmetrics: bool) -> bytes:
        if openmetrics not in self.headers:
            self.headers[openmetrics] = family_header(self.metric, openmetrics=openmetrics)
        return self.headers[openmetrics]


def _project_view(view: View, pid: str) -> View:
    """The view of one project: its list entry and its detail of every area in the view (a
    collector may read another area's detail: the project state derives from endpoints)."""
    project = view.projects.get(pid)
    detail = {}
    for area, values in view.detail.items():
        value = values.get(pid)
        if value is not None:
            detail[area] = MappingProxyType({pid: value})
    return View(
        MappingProxyType({pid: project}) if project is not None else _EMPTY,
        _EMPTY,
        MappingProxyType(detail),
    )


def _fixed(view: View) -> Callable[[], View]:
    return lambda: view


def _non_project_view(view: View) -> View:
    return View(_EMPTY, view.projects_per_key, _EMPTY, view.account)


class Fragments:
    """Sample lines per project (and of the non-project part) of the latest view updated to.

    ``update`` re-renders only projects whose data (list entry or any area's detail) changed
    since the last update; it yields between slices of work so the caller can let an event loop
    run (a project costs about 0.2 ms of CPU, 10,000 of them about 2 s)."""

    SLICE = 0.005  # seconds of rendering between two yields
    COMPARE = 5000  # projects compared between two yields: a few ms

    def __init__(self, areas: Sequence[str]) -> None:
        self.areas = rendered(areas)
        self._detail = tuple(a.name for a in AREAS if a.detail)  # all: see _project_view
        self.slots: list[Slot] = []
        self._by_name: dict[tuple[int, str], Slot] = {}
        self._names: list[list[str]] = [[] for _ in self.areas]  # family order per area
        self.order: list[Slot] = []  # slots in exposition order
        self._data: dict[str, tuple[object, ...]] = {}  # pid -> the data its lines are of
        self.kept: dict[str, Kept] = {}
        self.other: Lines = ()  # the non-project part (small: kept plain)
        self.rendered = 0  # projects rendered so far (tests and the bench read it)

    def update(self, view: View) -> Iterator[None]:
        """Bring the lines up to ``view``: render changed and new projects, drop gone ones."""
        detail = [view.of(name) for name in self._detail]
        pids = list(view.projects)
        for d in detail:  # detail of a project not listed (not made by State.view, but allowed)
            pids += d.keys() - view.projects.keys() - set(pids[len(view.projects) :])
        changed: dict[str, tuple[object, ...]] = {}
        kept = self._data
        for start in range(0, len(pids), self.COMPARE):
            part = pids[start : start + self.COMPARE]
            # Only changed projects' data is held: tuples made and dropped at once do not
            # count towards the garbage collector's next full collection, 100,000 kept would.
            changed |= {p: d for p, d in self._data_of(view, detail, part) if kept.get(p) != d}
            yield
        listed = set(pids)
        for pid in [p for p in kept if p not in listed]:
            self._set(pid, None)
            del kept[pid]
        since = time.perf_counter()
        for pid, data in changed.items():
            self._set(pid, self._render(_project_view(view, pid)))
            kept[pid] = data
            self.rendered += 1
            if time.perf_counter() - since > self.SLICE:
                yield
                since = time.perf_counter()
        self.other = self._render(_non_project_view(view), whole=view)

    @staticmethod
    def _data_of(
        view: View, detail: list[Mapping[str, Any]], pids: list[str]
    ) -> Iterator[tuple[str, tuple[object, ...]]]:
        """Per project, what its lines are rendered from (zipped column-wise: this runs over
        every project at every update)."""
        projects = view.projects
        columns = [[projects.get(p) for p in pids], *([d.get(p) for p in pids] for d in detail)]
        return zip(pids, zip(*columns, strict=True), strict=True)

    def _set(self, pid: str, lines: Lines | None) -> None:
        old = self.kept.pop(pid, None)
        for slot in self.slots:
            slot.projects -= old is not None and old.has(slot.index)
        if lines is not None:
            kept = self.kept[pid] = Kept.of(lines, old)
            for slot in self.slots:
                slot.projects += kept.has(slot.index)

    def _render(self, view: View, *, whole: View | None = None) -> Lines:
        """Lines of ``view``; with ``whole``, account-level areas render from it instead (their
        series are per key, not per project, and they leave out projects that are live)."""
        out: list[bytes | None] = [None] * len(self.slots)
        for i, area in enumerate(self.areas):
            previous: str | None = None
            source = whole if whole is not None and area.account_level else view
            for metric in area.collector(_fixed(source)).collect():
                slot = self._slot(i, metric, previous)
                previous = metric.name
                out.extend([None] * (len(self.slots) - len(out)))
                out[slot.index] = format_samples(metric).encode()
        return out

    def _slot(self, area: int, metric: Metric, previous: str | None) -> Slot:
        slot = self._by_name.get((area, metric.name))
        if slot is not None:
            return slot
        bare = Metric(metric.name, metric.documentation, metric.type, metric.unit)
        slot = Slot(len(self.slots), self.areas[area], bare)
        self.slots.append(slot)
        self._by_name[(area, metric.name)] = slot
        names = self._names[area]
        # A family first seen now goes after the one its collector yielded before it.
        names.insert(names.index(previous) + 1 if previous in names else 0, metric.name)
        self.order = [self._by_name[(a, n)] for a, ns in enumerate(self._names) for n in ns]
        return slot

    def present(self, slot: Slot) -> bool:
        """Whether the whole view's render would yield the family."""
        other = self.other
        return slot.projects > 0 or (slot.index < len(other) and other[slot.index] is not None)

    def source(self, slot: Slot, view: View) -> Mapping[str, Any]:
        """The projects of a family in the order its collector walks them: the project list's
        collector walks the list, an area's collector its detail."""
        return view.of(slot.area.name) if slot.area.detail else view.projects
