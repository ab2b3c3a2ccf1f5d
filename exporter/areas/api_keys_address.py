"""The address each listed API key was last used from (``--collector.api_keys_address``, off by
default): a further opt-in on top of ``--collector.api_keys``, whose answers it renders, so no
request of its own. An address says where a key is used from (a CI runner, a laptop), which is
more than every dashboard viewer needs to see; it is shown only when asked for.

Sample::

    neon_listed_api_key_last_used_address_info{address="192.0.2.10",api_key_id="165432"} 1.0
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import InfoMetricFamily, Metric

from ..collectors.base import SnapshotCollector, ViewSource
from . import api_keys
from .base import Area

NAME = "api_keys_address"


class ApiKeyAddressCollector(SnapshotCollector):
    def __init__(self, view: ViewSource) -> None:
        self.view = view

    def collect(self) -> Iterable[Metric]:
        keys = api_keys.keys_of(self.view())
        used = {kid: k.last_used_from_addr for kid, k in keys.items() if k.last_used_from_addr}
        if not used:
            return
        info = InfoMetricFamily(
            "neon_listed_api_key_last_used_address",
            "The address the API key was last used from, as last listed (needs "
            "--collector.api_keys too); always 1.",
            labels=["api_key_id", "address"],
        )
        for kid, address in sorted(used.items()):
            info.add_metric([str(kid), address], {})
        yield info


AREA = Area(
    name=NAME,
    default=False,
    help="also the address each listed API key was last used from (needs --collector.api_keys)",
    cost="none: rendered from the api_keys answers",
    collector=ApiKeyAddressCollector,
    renders=api_keys.NAME,
)
