"""Row "API keys": what kind of key feeds the exporter, the keys of the account and its
organizations by owner, the oldest, and those unused longest. The inventory needs
--collector.api_keys (refreshed hourly); it is account data, so it ignores $project."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    RED,
    YELLOW,
    Json,
    K,
    Row,
    bargauge,
    piechart,
    see,
    targets,
    thresholds,
)

NEEDS = " Needs --collector.api_keys (refreshed hourly)."
DAY = 86400
# One series per listed key (two exporters listing the same key show it once).
INFO = "max by (api_key_id, api_key_name, owner) (neon_listed_api_key_info)"
CREATED = "max by (api_key_id) (neon_listed_api_key_created_timestamp_seconds)"
# A key never used counts from its creation, as NeonApiKeyUnused does.
LAST_USED = (
    "max by (api_key_id) (neon_listed_api_key_last_used_timestamp_seconds "
    "or neon_listed_api_key_created_timestamp_seconds)"
)
KEY_LEGEND = "{{api_key_name}} ({{owner}}, id {{api_key_id}})"


def held() -> Json:
    return piechart(
        "Exporter keys by kind",
        "What kind of key feeds this exporter? Each configured key by GET /auth's "
        "auth_method: api_key_user is a personal key (it sees the user's projects), "
        "api_key_org an organization's (it sees that organization's projects).",
        targets(
            (
                f"count by (auth_method) (max by (key, auth_method) (neon_api_key_info{{{K}}}))",
                "{{auth_method}}",
            ),
            instant=True,
        ),
    )


def by_owner() -> Json:
    return piechart(
        "API keys by owner",
        "How many API keys exist, and whose are they? account is the personal keys of the "
        "exporter's account; an organization id is that organization's keys. Every key "
        "stays valid until revoked." + NEEDS,
        targets((f"count by (owner) ({INFO})", "{{owner}}"), instant=True),
    )


def oldest() -> Json:
    return bargauge(
        "Oldest API keys",
        "Which keys are due for rotation? Age since creation (top 10); red past the "
        "365-day policy of NeonApiKeyOld." + NEEDS + see("NeonApiKeyOld"),
        targets(
            (
                f"topk(10, (time() - {CREATED}) * on (api_key_id) group_left (api_key_name, "
                f"owner) {INFO})",
                KEY_LEGEND,
            ),
            instant=True,
        ),
        unit="s",
        thr=thresholds((None, GREEN), (300 * DAY, YELLOW), (365 * DAY, RED)),
        w=6,
    )


def unused() -> Json:
    return bargauge(
        "API keys unused longest",
        "Which keys could be revoked? Time since last use, or since creation for a key "
        "never used (top 10); red past the 90 days of NeonApiKeyUnused."
        + NEEDS
        + see("NeonApiKeyUnused"),
        targets(
            (
                f"topk(10, (time() - {LAST_USED}) * on (api_key_id) group_left (api_key_name, "
                f"owner) {INFO})",
                KEY_LEGEND,
            ),
            instant=True,
        ),
        unit="s",
        thr=thresholds((None, GREEN), (30 * DAY, YELLOW), (90 * DAY, RED)),
        w=6,
    )


def panels() -> list[Json]:
    return [held(), by_owner(), oldest(), unused()]


ROW = Row("API keys", panels)
