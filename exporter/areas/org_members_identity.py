"""Who each organization member is (``--collector.org_members_identity``, off by default): a
further opt-in on top of ``--collector.org_security``, whose answers it renders, so no request
of its own. E-mail addresses and user ids identify people: they are shown only when asked for.

Sample::

    neon_organization_member_info{email="ada@example.com",org_id="org-demo-12345",role="admin",user_id="6df052ac-ca9a-4321-8963-b6507b2d7dee"} 1.0
    neon_organization_member_mfa_enabled{org_id="org-demo-12345",user_id="6df052ac-ca9a-4321-8963-b6507b2d7dee"} 1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..exposition.family import Family, Sample, flag, info
from ..neon.members import Member
from . import org_security
from .base import Area

if TYPE_CHECKING:  # types only: the view is built by the poll layer, above this one
    from ..poll.result import View

NAME = "org_members_identity"


def _each(value: Callable[[str, Member], Iterable[Sample]]) -> Callable[[View], Iterable[Sample]]:
    return lambda view: (
        s
        for p in org_security.postures(view)
        for m in sorted(p.members or (), key=lambda m: m.user_id)
        for s in value(p.org_id, m)
    )


VIEW_FAMILIES: tuple[Family[View], ...] = (
    Family(
        "neon_organization_member_info",
        "A member of the organization: user id, e-mail and role, as last polled (needs "
        "--collector.org_security too); always 1.",
        ("org_id", "user_id", "email", "role"),
        _each(lambda org, m: info(org, m.user_id, m.email, m.role)),
        kind="info",
    ),
    Family(
        "neon_organization_member_mfa_enabled",
        "1 if the member has MFA enabled (has_mfa), as last polled.",
        ("org_id", "user_id"),
        _each(lambda org, m: flag(m.has_mfa, org, m.user_id)),
    ),
)


AREA = Area(
    name=NAME,
    default=False,
    help="also each organization member's e-mail, user id and MFA (needs --collector.org_security)",
    cost="none: rendered from the org_security answers",
    view_families=VIEW_FAMILIES,
    renders=org_security.NAME,
)
