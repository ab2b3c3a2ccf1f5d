"""The exposition itself: a golden file from literal Neon data, linted by real promtool."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from types import MappingProxyType

from exporter.neon.parse import (
    parse_auth,
    parse_v1_projects,
    parse_v2_endpoints,
    parse_v2_projects_page,
)
from exporter.poll.state import PollResult, State
from tests.support import exposition_of
from tests.unit.test_parse import seed_example

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "exposition.prom"

V2_PAGE = {
    "projects": [
        {
            "id": "shiny-wind-028834",
            "platform_id": "aws",
            "region_id": "aws-us-east-2",
            "name": "shiny-wind-028834",
            "pg_version": 15,
            "synthetic_storage_size": 41943040,
            "org_id": "org-morning-bread-81040908",
            # Fields of ProjectListItem the projects collector serves since issue 13: a zero
            # quota is unlimited (no series).
            "settings": {"quota": {"compute_time_seconds": 36000, "written_data_bytes": 0}},
            "quota_reset_at": "2023-12-01T00:00:00Z",
            "maintenance_starts_at": "2023-11-15T03:00:00Z",
            "history_retention_seconds": 604800,
            "active_time": 750111,
        },
    ],
    "pagination": {"cursor": "shiny-wind-028834"},
}
V2_ENDPOINTS = {
    "endpoints": [
        {
            "id": "ep-little-smoke-851426",
            "project_id": "shiny-wind-028834",
            "branch_id": "br-aged-salad-637688",
            "type": "read_write",
            "current_state": "idle",
            "pooler_enabled": False,
            "autoscaling_limit_min_cu": 1,
            "autoscaling_limit_max_cu": 1,
            "suspend_timeout_seconds": 10800,
            "last_active": "2022-11-23T17:00:00Z",
        },
    ]
}


def render() -> bytes:
    """Two keys: prod polled over v2 (OpenAPI example), legacy over v1 (the seed example)."""
    state = State(keys=("prod", "legacy"), max_age=1e12, clock=lambda: 1_700_000_100.0)
    page = parse_v2_projects_page(V2_PAGE)
    endpoints, _ = parse_v2_endpoints(V2_ENDPOINTS)
    state.record_poll(
        "prod",
        PollResult(
            "prod",
            1_700_000_000.0,
            MappingProxyType({p.id: p for p in page.projects}),
            MappingProxyType({"endpoints": {"shiny-wind-028834": endpoints}}),
        ),
        0.25,
    )
    state.record_key_answer("prod", valid=True)
    # GET /auth's answer (the AuthDetailsResponse example's shape) and a key file read.
    auth = parse_auth({"account_id": "org-morning-bread-81040908", "auth_method": "api_key_org"})
    state.record_key_source("prod", auth=auth, file_read_at=1_699_999_990.0)
    v1, _ = parse_v1_projects(seed_example())
    state.record_poll(
        "legacy",
        PollResult("legacy", 1_700_000_050.0, MappingProxyType({p.id: p for p in v1})),
        0.5,
    )
    state.record_key_answer("legacy", valid=False)
    exposition = exposition_of(state, ("projects", "endpoints"))
    exposition._metrics.count_request("prod", "/projects", "200")
    exposition._metrics.count_skipped("prod", "/projects", 1)
    return exposition.rendered()


def normalise(text: bytes) -> str:
    """Versions in build_info are the one thing that differs between machines and releases."""
    return re.sub(r'([{,](?:python_)?version)="[^"]*"', r'\1="X"', text.decode())


def test_exposition_matches_golden_file() -> None:
    """The rendered exposition equals tests/golden/exposition.prom (UPDATE_GOLDEN=1 rewrites)."""
    text = normalise(render())
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_golden_exposition_passes_promtool_lint() -> None:
    """promtool check metrics finds nothing to complain about (exit 0)."""
    proc = subprocess.run(
        ["promtool", "check", "metrics"], input=render(), capture_output=True, check=False
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
