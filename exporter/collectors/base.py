"""What every collector of this exporter shares."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric
from prometheus_client.registry import Collector


class SnapshotCollector(Collector):
    """Renders the state's current view; never does I/O.

    ``describe()`` returns nothing so registering does not call ``collect()`` early (the
    registry's auto-describe would render a view before the first poll for no reason).
    """

    def describe(self) -> Iterable[Metric]:
        return ()
