"""An organization's members and invitations: models and parsers of ``GET
/organizations/{org_id}/members`` (a page of ``MemberWithUser``, cursor in
``pagination.next``) and ``GET /organizations/{org_id}/invitations``.

E-mails and user ids are kept in memory only for the opt-in identities area and to tell an
accepted invitation from a pending one; no series carries them unless that opt-in is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .fields import BadItem, opt_boolean, opt_string, opt_timestamp, parse_items, string


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    email: str
    role: str  # admin, member, editor, viewer, collaborator (MemberRole)
    has_mfa: bool | None  # None: not sent
    deactivated: bool  # the user account was deactivated (deactivated_at is set)


@dataclass(frozen=True, slots=True)
class Invitation:
    email: str
    role: str
    invited_at: float | None


@dataclass(frozen=True, slots=True)
class MemberPage:
    members: tuple[Member, ...]
    next: str | None
    skipped: int


def _member(item: dict[str, Any]) -> Member:
    member, user = item.get("member"), item.get("user")
    if not isinstance(member, dict) or not isinstance(user, dict):
        raise BadItem("member")
    return Member(
        user_id=string(member, "user_id"),
        email=opt_string(user, "email"),
        role=string(member, "role"),
        has_mfa=opt_boolean(user, "has_mfa"),
        deactivated=isinstance(user.get("deactivated_at"), str),
    )


def parse_member_page(data: object) -> MemberPage:
    members, skipped = parse_items(data, "members", _member)
    assert isinstance(data, dict)
    pagination = data.get("pagination")
    cursor = pagination.get("next") if isinstance(pagination, dict) else None
    return MemberPage(members, cursor if isinstance(cursor, str) and cursor else None, skipped)


def _invitation(item: dict[str, Any]) -> Invitation:
    return Invitation(
        opt_string(item, "email"), string(item, "role"), opt_timestamp(item, "invited_at")
    )


def parse_invitations(data: object) -> tuple[tuple[Invitation, ...], int]:
    return parse_items(data, "invitations", _invitation)
