"""A metric family declared once: name, type, help, label names and a pure function from one
input (a project's data, or the whole view) to its samples, as kube-state-metrics'
``FamilyGenerator`` does. The headers of both text formats and the template of a sample line
are computed here, at declaration, so rendering is formatting and nothing else.

The bytes are those of prometheus_client's own renderers (``generate_latest`` of
``exposition`` and ``openmetrics.exposition``): labels sorted by name, values as Go formats
them, the same escaping; the property test in tests/unit/test_exposition_properties.py holds
the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from ..neon.models import Project

T = TypeVar("T")
Kind = Literal["gauge", "info", "counter"]
Sample = tuple[tuple[str, ...], float]
"""Label values, in the family's declared label order, and the value."""

_SPECIAL = {"inf": "+Inf", "-inf": "-Inf", "nan": "NaN"}


def go_float(value: float) -> str:
    """A value as Go (so Prometheus and prometheus_client's ``floatToGoString``) writes it."""
    s = repr(float(value))
    if len(s) > 8 and value > 0:
        dot = s.find(".")
        if dot > 6:  # Go switches to an exponent sooner than Python does
            mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1 :]}".rstrip("0.")
            return f"{mantissa}e+{dot - 1:02d}"
    elif len(s) < 5:
        return _SPECIAL.get(s, s)
    return s


def escape(value: str) -> str:
    """A label value in either text format."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


@dataclass(frozen=True, slots=True)
class Family(Generic[T]):
    """One metric family: what ``samples`` yields for an input becomes its sample lines.

    ``name`` is the name samples carry (``neon_project_info``, ``..._total``), as docs/metrics.md
    lists it; an info family's name ends in ``_info``, a counter's in ``_total``.
    """

    name: str
    help: str
    labels: tuple[str, ...]
    samples: Callable[[T], Iterable[Sample]]
    kind: Kind = "gauge"
    text_header: bytes = field(init=False, repr=False, compare=False)
    openmetrics_header: bytes = field(init=False, repr=False, compare=False)
    _template: str = field(init=False, repr=False, compare=False)
    _order: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        suffix = {"info": "_info", "counter": "_total", "gauge": ""}[self.kind]
        if not self.name.endswith(suffix):
            raise ValueError(f"{self.name}: a {self.kind} family's name ends in {suffix}")
        base = self.name.removesuffix(suffix) if suffix else self.name
        text_help = self.help.replace("\\", r"\\").replace("\n", r"\n")
        om_help = text_help.replace('"', r"\"")
        text_type = "gauge" if self.kind == "info" else self.kind
        text = f"# HELP {self.name} {text_help}\n# TYPE {self.name} {text_type}\n"
        openmetrics = f"# HELP {base} {om_help}\n# TYPE {base} {self.kind}\n"
        setattr_ = object.__setattr__  # frozen: computed once, here
        setattr_(self, "text_header", text.encode())
        setattr_(self, "openmetrics_header", openmetrics.encode())
        order = tuple(sorted(range(len(self.labels)), key=self.labels.__getitem__))
        pairs = ",".join(f'{self.labels[i]}="%s"' for i in order)
        # "%" in a label name is impossible (Prometheus names are [a-zA-Z0-9_]).
        setattr_(
            self, "_template", f"{self.name}{{{pairs}}} %s\n" if pairs else f"{self.name} %s\n"
        )
        setattr_(self, "_order", order)

    def header(self, *, openmetrics: bool) -> bytes:
        return self.openmetrics_header if openmetrics else self.text_header

    def line(self, values: tuple[str, ...], value: float) -> str:
        return self._template % (*[escape(values[i]) for i in self._order], go_float(value))

    def lines(self, data: T) -> str:
        """The family's sample lines for one input, in the order ``samples`` yields them."""
        template, order = self._template, self._order
        if len(order) == 1:  # most families: project_id alone
            return "".join([template % (escape(v[0]), go_float(x)) for v, x in self.samples(data)])
        return "".join(
            [
                template % (*[escape(v[i]) for i in order], go_float(x))
                for v, x in self.samples(data)
            ]
        )


def one(value: float | None, *labels: str) -> tuple[Sample, ...]:
    """One sample, or none where Neon did not send the value (absent, never 0)."""
    return () if value is None else ((labels, float(value)),)


def flag(value: bool | None, *labels: str) -> tuple[Sample, ...]:
    """1/0 for a boolean, none where it is unknown."""
    return () if value is None else ((labels, 1.0 if value else 0.0),)


def info(*labels: str) -> tuple[Sample, ...]:
    return ((labels, 1.0),)


@dataclass(frozen=True, slots=True)
class ProjectData:
    """The input of a per-project family: one project's list item and each area's detail of it
    (absent where the area has none). Equal data renders equal lines: the store re-renders a
    project only when this changes."""

    id: str
    project: Project
    detail: Mapping[str, Any]

    def of(self, area: str) -> Any:
        return self.detail.get(area)


__all__ = ["Family", "Kind", "ProjectData", "Sample", "escape", "flag", "go_float", "info", "one"]
