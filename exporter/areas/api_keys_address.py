"""The address each listed API key was last used from (``--collector.api_keys_address``, off by
default): a further opt-in on top of ``--collector.api_keys``, whose answers it renders, so no
request of its own. An address says where a key is used from (a CI runner, a laptop), which is
more than every dashboard viewer needs to see; it is shown only when asked for.

Sample::

    neon_listed_api_key_last_used_address_info{address="192.0.2.10",api_key_id="165432"} 1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exposition.family import Family, info
from . import api_keys
from .base import Area

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

NAME = "api_keys_address"


VIEW_FAMILIES: tuple[Family[View], ...] = (
    Family(
        "neon_listed_api_key_last_used_address_info",
        "The address the API key was last used from, as last listed (needs "
        "--collector.api_keys too); always 1.",
        ("api_key_id", "address"),
        api_keys.listed(
            lambda kid, k: info(kid, k.last_used_from_addr) if k.last_used_from_addr else ()
        ),
        kind="info",
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="also the address each listed API key was last used from (needs --collector.api_keys)",
    cost="none: rendered from the api_keys answers",
    view_families=VIEW_FAMILIES,
    renders=api_keys.NAME,
)
