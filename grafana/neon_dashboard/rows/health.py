"""Row "API keys and exporter health": is each key accepted, is polling healthy, is the budget
enough? Health series carry `key`, so every selector has key=~"$key"."""

from __future__ import annotations

from neon_dashboard.panels import (
    GREEN,
    RED,
    YELLOW,
    Json,
    K,
    Row,
    see,
    stat,
    targets,
    thresholds,
    timeseries,
    value_text,
)

# Requests per second per key: the base of the spent and 429 panels.
RPS = f"sum by (key) (rate(neon_exporter_api_requests_total{{{K}}}[$__rate_interval]))"


def key_valid() -> Json:
    return stat(
        "API key valid",
        "Does Neon still accept each API key? VALID while Neon accepts the key; REJECTED "
        "after Neon answered 401 (key revoked, deleted or mistyped). A rejected key's projects "
        "keep their last values only until poll_max_age, then vanish from this dashboard. "
        "Fix: create a new key in the Neon Console and update the secret the exporter reads; "
        "the key turns VALID again at the next key check." + see("NeonApiKeyInvalid"),
        targets((f"max by (key) (neon_api_key_valid{{{K}}})", "{{key}}"), instant=True),
        thr=thresholds((None, RED), (1, GREEN)),
        mappings=[value_text("1", "VALID", GREEN), value_text("0", "REJECTED", RED)],
        color_mode="background",
        text_mode="value_and_name",
        w=6,
    )


def last_rejected() -> Json:
    return stat(
        "Time since last 401",
        "When did Neon last reject each key? Time since the last 401 answer for the key; "
        "'never' if Neon has not rejected it since the exporter started. A recent value with "
        "the key VALID again means a key was rotated or briefly revoked: check that whoever "
        "revoked it meant to." + see("NeonApiKeyInvalid"),
        targets(
            (
                "time() - max by (key) "
                f"(neon_api_key_last_rejected_timestamp_seconds{{{K}}})"
                f" or max by (key) (neon_api_key_valid{{{K}}}) * 0 - 1",
                "{{key}}",
            ),
            instant=True,
        ),
        unit="s",
        thr=thresholds((None, GREEN)),
        mappings=[value_text("-1", "never", GREEN)],
        text_mode="value_and_name",
        w=6,
    )


def poll_success() -> Json:
    return stat(
        "Poll success",
        "Did the last poll of each key complete? FAILING means the last poll hit an error "
        "(5xx, timeout, malformed answer, or a 401): the exporter keeps serving the last good "
        "data. Check the exporter's log for the key's 'poll failed' lines and Neon's status "
        "page." + see("NeonExporterPollFailing"),
        targets((f"min by (key) (neon_exporter_poll_success{{{K}}})", "{{key}}"), instant=True),
        thr=thresholds((None, RED), (1, GREEN)),
        mappings=[value_text("1", "OK", GREEN), value_text("0", "FAILING", RED)],
        color_mode="background",
        text_mode="value_and_name",
        w=6,
    )


def data_age() -> Json:
    return stat(
        "Data age",
        "How fresh is each key's data? Time since the key's last successful poll. It should "
        "stay below two poll intervals; past poll_max_age (10m by default) the key's series "
        "are dropped. If it grows, see Poll success and the exporter's log."
        + see("NeonExporterDataStale"),
        targets(
            (
                f"time() - max by (key) (neon_exporter_poll_last_success_timestamp_seconds{{{K}}})",
                "{{key}}",
            ),
            instant=True,
        ),
        unit="s",
        thr=thresholds((None, GREEN), (300, YELLOW), (600, RED)),
        text_mode="value_and_name",
        w=6,
    )


def requests_by_code() -> Json:
    return timeseries(
        "Neon API requests by status code",
        "What does Neon answer the exporter? Requests per second to the Neon API by HTTP "
        "status code (or timeout / error), for the selected keys. Mostly 2xx is healthy; "
        "401 means a key was rejected, 429 rate limiting, 5xx / timeout trouble at Neon or "
        "on the network." + see("NeonExporterPollFailing"),
        targets(
            (
                f"sum by (code) (rate(neon_exporter_api_requests_total{{{K}}}[$__rate_interval]))",
                "{{code}}",
            )
        ),
        unit="reqps",
        stack=True,
        w=8,
    )


def spent_vs_budget() -> Json:
    return timeseries(
        "Neon API requests per key: spent vs budget",
        "Is each key spending within its request budget, and how close is it to Neon's rate "
        "limit? Requests per minute each key spent (solid) against its budget "
        "(--neon.max-requests-per-minute, 300 by default); the red dashed line is Neon's "
        "700 per minute per account, shared with the Neon Console and your own automation. "
        "With HA replicas both lines add up the replicas: each spends its own budget on the "
        "same account. Spending sits at the budget while a large account's details are "
        "refreshed (see Detail freshness); if the budget nears 700, or 429s appear, lower "
        "the budget or lengthen --poll.interval.",
        targets(
            (f"{RPS} * 60", "{{key}} spent"),
            (
                f"sum by (key) (neon_exporter_api_budget_requests_per_minute{{{K}}})",
                "{{key}} budget",
            ),
        ),
        unit="suffix: req/min",
        thr=thresholds((None, GREEN), (700, RED)),
        thr_style="dashed",
        soft_max=700,
        w=8,
    )


def rate_limited() -> Json:
    return timeseries(
        "Rate-limited (429) answers per key",
        "Is Neon throttling the exporter? 429 answers per second per key (0 when none). The "
        "exporter retries them with backoff, but a steady rate slows polls and eats the "
        "account's shared budget: lower --neon.max-requests-per-minute or lengthen "
        "--poll.interval, and look for other clients using the same account.",
        targets(
            (
                "sum by (key) (rate(neon_exporter_api_requests_total"
                f'{{{K},code="429"}}[$__rate_interval])) or {RPS} * 0',
                "{{key}}",
            )
        ),
        unit="reqps",
        thr=thresholds((None, GREEN), (0.01, RED)),
        thr_style="line",
        w=8,
    )


def poll_duration() -> Json:
    return timeseries(
        "Poll duration",
        "How long does one poll of each key take? A poll lists projects, then refreshes "
        "per-project details (endpoints, branches, usage) as far as the request budget "
        "allows before the next poll is due and carries the rest over, so on a large "
        "account it fills most of --poll.interval by design (see Detail freshness). On a "
        "small account a long poll means Neon answers slowly: check Neon's status page.",
        targets((f"max by (key) (neon_exporter_poll_duration_seconds{{{K}}})", "{{key}}")),
        unit="s",
        w=8,
    )


def detail_freshness() -> Json:
    return timeseries(
        "Detail freshness",
        "How stale is the stalest per-project detail? Time since the oldest detail of each "
        "kind (endpoints, branches, usage) was fetched, per key. Details are refreshed "
        "within the request budget, most urgent first, so on a large account this grows "
        "to about projects x kinds / budget minutes; usage is refreshed every "
        "usage_interval (15m). If it keeps growing, raise --neon.max-requests-per-minute "
        "(within Neon's 700/min) or turn off collectors you do not need.",
        targets(
            (
                "time() - max by (key, kind) "
                f"(neon_exporter_detail_oldest_timestamp_seconds{{{K}}})",
                "{{key}} {{kind}}",
            )
        ),
        unit="s",
        w=8,
    )


def projects_without_detail() -> Json:
    return stat(
        "Projects without detail",
        "How many projects have no detail of each kind yet? New projects and, on a large "
        "account, the first polls after start. Their endpoint, branch or usage series are "
        "missing until it reaches 0; if it stays above 0, see Detail freshness.",
        targets(
            (
                f"max by (key, kind) (neon_exporter_detail_unfetched_projects{{{K}}})",
                "{{key}} {{kind}}",
            ),
            instant=True,
        ),
        thr=thresholds((None, GREEN), (1, YELLOW)),
        text_mode="value_and_name",
        w=4,
        h=8,
    )


def exporter_version() -> Json:
    return stat(
        "Exporter version",
        "Which neon-exporter (and Python) runs behind this dashboard? One entry per version "
        "seen; two entries mean replicas run different versions.",
        targets(
            (
                "count by (version, python_version) (neon_exporter_build_info)",
                "{{version}} (Python {{python_version}})",
            ),
            instant=True,
        ),
        text_mode="name",
        w=4,
        h=8,
    )


def panels() -> list[Json]:
    return [
        key_valid(),
        last_rejected(),
        poll_success(),
        data_age(),
        requests_by_code(),
        spent_vs_budget(),
        rate_limited(),
        poll_duration(),
        detail_freshness(),
        projects_without_detail(),
        exporter_version(),
    ]


ROW = Row("API keys and exporter health", panels)
