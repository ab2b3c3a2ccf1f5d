"""Rotating the exporter's own key by the runbook (docs/alerts.md, "Rotating the exporter's own
key") never pages; revoking the key in use still does.

Real processes on free loopback ports: the simulator, the exporter reading its key from a
``key_file``, Prometheus (scrape and evaluation every 1s) loading the shipped rules unchanged,
and Alertmanager loading the shipped config with only its webhook URLs pointed at a receiver in
this test. The new key is created and the old one revoked through the (simulated) Neon API, as
an operator would.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.stack import (
    Prometheus,
    alertmanager,
    point_webhooks_at,
    prometheus,
    prometheus_config,
    webhook_receiver,
)
from tests.procs import ROOT, exporter, simulator, wait_for

pytestmark = pytest.mark.e2e

RULES = ROOT / "deploy" / "prometheus" / "neon-exporter-alerts.yml"
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
KEY = "prod"
OLD_TOKEN = "rotate-" + "o" * 40
ALERT = "NeonApiKeyInvalid"
PAGE_TIMEOUT = 30.0


def neon(sim_url: str, method: str, path: str, token: str, body: object = None) -> Any:
    """One call to the simulated Neon API v2, as curl would make it."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{sim_url}/api/v2{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def write_key(path: Path, token: str) -> None:
    """Replace the key file whole (a temporary file renamed over it), mode 0600."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(token + "\n")
    tmp.chmod(0o600)
    os.replace(tmp, path)


def scalar(prom: Prometheus, expr: str) -> float | None:
    result = prom.query(expr)
    return float(result[0]["value"][1]) if result else None


def test_rotation_by_the_runbook_does_not_page_and_revoking_the_key_in_use_does(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "prod.key"
    write_key(key_file, OLD_TOKEN)
    config = tmp_path / "exporter.yml"
    config.write_text(yaml.safe_dump({"keys": [{"name": KEY, "key_file": str(key_file)}]}))
    am_config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    with (
        webhook_receiver() as hooks,
        simulator(tmp_path, keys={KEY: OLD_TOKEN}, projects=3) as sim,
        exporter(
            tmp_path,
            [
                "--config.file", str(config),
                "--neon.api-url", f"{sim.url}/api/v2",
                "--key-check.interval", "1s",
                "--poll.interval", "5s",
                "--neon.max-requests-per-minute", "6000",
            ],
        ) as exp,
        alertmanager(tmp_path, point_webhooks_at(am_config, hooks.url)) as am,
        prometheus(
            tmp_path,
            prometheus_config(
                job="neon-exporter",
                targets=[exp.url.removeprefix("http://")],
                rule_files=[RULES],
                alertmanagers=[am.address],
            ),
        ) as prom,
    ):  # fmt: skip
        valid = f'neon_api_key_valid{{key="{KEY}"}}'
        read_at = f'neon_api_key_file_read_timestamp_seconds{{key="{KEY}"}}'
        prom.wait_for_target_up("neon-exporter")
        wait_for(lambda: scalar(prom, valid) == 1, timeout=15, what="key valid")
        started = time.time()

        # 1. Create the new key with the old one; find the old key's id.
        created = neon(sim.url, "POST", "/api_keys", OLD_TOKEN, {"key_name": "prod-next"})
        listed = neon(sim.url, "GET", "/api_keys", OLD_TOKEN)
        (old_id,) = (k["id"] for k in listed if k["name"] == KEY)
        # 2. Write it to the key file.
        written = time.time()
        write_key(key_file, created["key"])
        # 3. Wait until Prometheus shows the file read after the write, then a key check
        #    accepted after that read (a later /auth 200 scraped).
        wait_for(
            lambda: (scalar(prom, read_at) or 0) > written,
            timeout=15,
            what="the key file read after the write, in Prometheus",
        )
        checks = f'sum(neon_exporter_api_requests_total{{key="{KEY}",route="/auth",code="200"}})'
        seen = scalar(prom, checks) or 0
        wait_for(
            lambda: (scalar(prom, checks) or 0) > seen and scalar(prom, valid) == 1,
            timeout=15,
            what="a key check with the new key, in Prometheus",
        )
        # 4. Revoke the old key, with the new one.
        revoked_at = time.time()
        assert neon(sim.url, "DELETE", f"/api_keys/{old_id}", created["key"])["revoked"]

        # The exporter goes on with the new key: a poll and key checks after the revocation,
        # scraped, and never a 401.
        polled = f'neon_exporter_poll_last_success_timestamp_seconds{{key="{KEY}"}}'
        seen = scalar(prom, checks) or 0
        wait_for(
            lambda: (
                (scalar(prom, polled) or 0) > revoked_at and (scalar(prom, checks) or 0) > seen + 2
            ),
            timeout=30,
            what="a poll and key checks after the revocation, in Prometheus",
        )
        window = f"{int(time.time() - started) + 2}s"
        rejected = f'neon_exporter_api_requests_total{{key="{KEY}",code="401"}}'
        assert prom.query(rejected) == []
        assert scalar(prom, f"min_over_time({valid}[{window}])") == 1
        assert prom.query(f'ALERTS{{alertname="{ALERT}"}}[{window}]') == []
        assert [n for n in hooks.notifications if n.has(ALERT, status="firing")] == []
        by_key = sim.requests()["by_key"]
        assert isinstance(by_key, dict)
        assert by_key.get("prod-next", 0) > 0  # the new key is the one in use

        # The control: revoking the key in use (now the new one) pages at once.
        sim.control("keys/prod-next/revoke")
        firing = hooks.wait_for(
            lambda n: n.has(ALERT, status="firing", key=KEY),
            timeout=PAGE_TIMEOUT,
            what=f"firing {ALERT} for the revoked key in use",
        )
        assert firing.receiver == "neon-critical"
