"""Row "Organizations": security posture (members by role, admins without MFA, deactivated
members, pending invitations, whether MFA is required) and VPC endpoints. Needs
--collector.org_security (hourly) and --collector.vpc_endpoints (every 15 minutes); account
data, so it ignores $project."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    RED,
    YELLOW,
    Json,
    Row,
    bargauge,
    see,
    stat,
    targets,
    thresholds,
    value_text,
)

SECURITY = " Needs --collector.org_security (refreshed hourly)."
VPC = " Needs --collector.vpc_endpoints (refreshed every 15 minutes)."
DAY = 86400


def members() -> Json:
    return bargauge(
        "Members by role",
        "Who can do what in each organization? Active members per role (admin, member, "
        "editor, viewer, collaborator); deactivated accounts are counted apart." + SECURITY,
        targets(
            ("max by (org_id, role) (neon_organization_members) > 0", "{{org_id}} {{role}}"),
            instant=True,
        ),
        w=6,
    )


def without_mfa() -> Json:
    return stat(
        "Admins without MFA",
        "How many admins of each organization have no MFA? Red where the organization does "
        "not require MFA either." + SECURITY + see("NeonOrganizationAdminWithoutMfa"),
        targets(
            (
                'max by (org_id) (neon_organization_members_without_mfa{role="admin"})',
                "{{org_id}}",
            ),
            instant=True,
        ),
        thr=thresholds((None, GREEN), (1, RED)),
    )


def mfa_required() -> Json:
    return stat(
        "MFA required",
        "Does each organization require MFA of every member (require_mfa)?" + SECURITY,
        targets(("max by (org_id) (neon_organization_mfa_required)", "{{org_id}}"), instant=True),
        mappings=[value_text("1", "required", GREEN), value_text("0", "not required", YELLOW)],
    )


def deactivated() -> Json:
    return stat(
        "Deactivated members still listed",
        "Who still belongs to each organization though their user account is deactivated? "
        "Remove them." + SECURITY,
        targets(
            ("max by (org_id) (neon_organization_deactivated_members)", "{{org_id}}"),
            instant=True,
        ),
        thr=thresholds((None, GREEN), (1, YELLOW)),
    )


def invitations() -> Json:
    return stat(
        "Oldest pending invitation",
        "How long has the oldest invitation waited to be accepted? A stale one can be "
        "revoked (an invitation counts as pending while no member has its e-mail)." + SECURITY,
        targets(
            (
                "time() - min by (org_id) "
                "(neon_organization_oldest_pending_invitation_timestamp_seconds)",
                "{{org_id}}",
            ),
            instant=True,
        ),
        unit="s",
        thr=thresholds((None, GREEN), (7 * DAY, YELLOW)),
    )


def vpc_endpoints() -> Json:
    return stat(
        "VPC endpoints",
        "Is each VPC endpoint accepted by Neon, and how many projects are restricted to it? "
        "new means pending acceptance." + VPC + see("NeonVpcEndpointNotAccepted"),
        targets(
            (
                "max by (org_id, vpc_endpoint_id, label, state) ("
                "(neon_vpc_endpoint_state == 1) * on (org_id, vpc_endpoint_id) "
                "group_left (label) neon_vpc_endpoint_info)",
                "{{label}} ({{vpc_endpoint_id}}): {{state}}",
            ),
            instant=True,
        ),
        text_mode="name",
        w=6,
    )


def panels() -> list[Json]:
    return [members(), without_mfa(), mfa_required(), deactivated(), invitations(), vpc_endpoints()]


ROW = Row("Organizations", panels)
