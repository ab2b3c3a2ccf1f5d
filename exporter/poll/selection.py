"""Which projects are fetched and exported (``--projects.include``, ``--projects.exclude``,
``--projects.org-ids``): applied to every list of projects a key fetches (the project list, the
deleted and the shared projects), so a project left out is neither fetched nor exported."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class Named(Protocol):
    """What a selection reads of a listed project, live, deleted or shared."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def org_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Selection:
    """Which listed projects are fetched and exported (``--projects.*``). Patterns match a
    project's whole name or id, as Prometheus' relabelling matches whole label values."""

    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    org_ids: frozenset[str] | None = None

    @classmethod
    def of(
        cls, include: str | None, exclude: str | None, org_ids: Sequence[str] | None
    ) -> Selection:
        return cls(
            re.compile(include) if include is not None else None,
            re.compile(exclude) if exclude is not None else None,
            frozenset(org_ids) if org_ids is not None else None,
        )

    def keeps(self, p: Named) -> bool:
        if self.org_ids is not None and p.org_id not in self.org_ids:
            return False
        if self.include is not None and not _matches(self.include, p):
            return False
        return self.exclude is None or not _matches(self.exclude, p)


def _matches(pattern: re.Pattern[str], p: Named) -> bool:
    return bool(pattern.fullmatch(p.name) or pattern.fullmatch(p.id))


EVERY_PROJECT = Selection()
