"""What every collector of this exporter shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from ..state import View

ViewSource = Callable[[], View]
"""Where a collector gets the view it renders: the live state, or one frozen view."""


class SnapshotCollector(Collector):
    """Renders a view of the state; never does I/O.

    ``describe()`` returns nothing so registering does not call ``collect()`` early (the
    registry's auto-describe would render a view before the first poll for no reason).
    """

    def describe(self) -> Iterable[Metric]:
        return ()
