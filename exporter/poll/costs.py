"""What one project's detail of an area costs in requests, so a poll reserves what it spends.

Most areas take one request a project. Some take more, known only from the answer: snapshots
ask each branch with snapshots for its schedule (1 + branches), branches page past 1,000. An
area that says so (``Area.cost_of``) is charged what its last answer for that project cost, or,
for a project never fetched, the mean over the answers known so far. Charged one request
instead, a poll would start five times the requests its slice affords and run past its slice,
so the scheduler would skip the next poll.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..areas import Area


class Costs:
    """Requests per project fetch of each area, learnt from its answers."""

    def __init__(self, areas: Mapping[str, Area], detail: Mapping[str, Mapping[str, Any]]) -> None:
        """``detail``: the known answers by area and project (the previous poll's)."""
        self._areas = areas
        self._totals: dict[str, list[int]] = {}  # area -> [requests, answers]
        for name, answers in detail.items():
            for value in answers.values():
                self.learn(name, value)

    def learn(self, area: str, value: object) -> None:
        """One answer of ``area``: what it cost counts towards the area's mean."""
        cost_of = self._areas[area].cost_of
        if cost_of is not None:
            total = self._totals.setdefault(area, [0, 0])
            total[0] += cost_of(value)
            total[1] += 1

    def unknown(self, area: str) -> bool:
        """Whether the area costs more than one request at times and no answer says how many."""
        return self._areas[area].cost_of is not None and area not in self._totals

    def of(self, area: str, known: object | None) -> int:
        """Requests the next fetch will take, given the project's last answer (None: none)."""
        cost_of = self._areas[area].cost_of
        if cost_of is None:
            return 1
        if known is not None:
            return cost_of(known)
        requests, answers = self._totals.get(area, (1, 1))
        return max(1, math.ceil(requests / answers))
