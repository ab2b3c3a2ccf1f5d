"""The fire drill: from a 401 at the (simulated) Neon API to a notification leaving Alertmanager.

Real processes on free loopback ports: the simulator, the exporter polling it, Prometheus
(scrape and evaluation every 1s) loading the shipped rules file unchanged, and Alertmanager
loading the shipped config with only its webhook URLs pointed at a receiver in this test.
Each phase's timestamps are written to ``drill-timings.json`` in the test's temporary
directory and printed (``pytest -s``).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.stack import (
    Alertmanager,
    Notification,
    Prometheus,
    WebhookReceiver,
    alertmanager,
    point_webhooks_at,
    prometheus,
    webhook_receiver,
)
from tests.procs import ROOT, Exporter, Simulator, exporter, simulator, wait_for

# One worker runs the whole module: its tests share one stack (module fixture), in order.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("alert-drill")]

RULES = ROOT / "deploy" / "prometheus" / "neon-exporter-alerts.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"

KEY = "prod"
TOKEN = "drill-" + "d" * 40
KEY_SELECTOR = f'neon_api_key_valid{{key="{KEY}"}}'
ALERT = "NeonApiKeyInvalid"
# Bounded waits, generous against the expected ~1s key check + 1s scrape + 1s evaluation
# + 5s group_wait (firing) or up to 30s group_interval (resolved).
PAGE_TIMEOUT = 30.0
RESOLVE_TIMEOUT = 60.0
# After the storm, the rules must have been evaluated on this many seconds of later scrapes
# before the absence of a page means anything: a page can only follow an ALERTS series.
SETTLE = 2.0


@dataclass
class Drill:
    sim: Simulator
    exporter: Exporter
    prom: Prometheus
    am: Alertmanager
    hooks: WebhookReceiver
    tmp: Path
    timings: dict[str, dict[str, float]] = field(default_factory=dict)

    def key_valid_in_prometheus(self) -> float | None:
        result = self.prom.query(KEY_SELECTOR)
        return float(result[0]["value"][1]) if result else None

    def log_time(self, event_prefix: str, *, after: float) -> float:
        """Wall time of the first exporter log event ``event_prefix``... at or after ``after``."""
        for entry in self.exporter.logs():
            event, stamp = str(entry.get("event", "")), entry.get("timestamp")
            if event.startswith(event_prefix) and entry.get("key") == KEY and stamp:
                t = datetime.fromisoformat(str(stamp)).timestamp()
                if t >= after:
                    return t
        raise AssertionError(f"no exporter log {event_prefix!r} after {after}")

    def first_sample(self, selector: str, value: float, *, after: float) -> float:
        """Timestamp of the first raw sample of ``selector`` equal to ``value`` after ``after``."""
        for t, v in self.prom.samples(selector, window="2m"):
            if t >= after and v == value:
                return t
        raise AssertionError(f"no sample {selector} == {value} after {after}")

    def record(self, phase: str, stamps: dict[str, float]) -> None:
        self.timings[phase] = stamps
        (self.tmp / "drill-timings.json").write_text(json.dumps(self.timings, indent=2))
        start = next(iter(stamps.values()))
        steps = ", ".join(f"{k} +{v - start:.2f}s" for k, v in stamps.items())
        print(f"\n[drill] {phase}: {steps}")


def shipped_prometheus_config(exporter_url: str, am: Alertmanager) -> dict[str, Any]:
    """The shipped prometheus.yml, at 1s intervals, scraping the test's exporter."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"] = {**config.get("global", {}), "scrape_interval": "1s"}
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(RULES)]  # the shipped rules, unchanged
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [am.address]}]}]}
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "neon-exporter", "the rules' NeonExporterDown names this job"
    job.update(
        scrape_interval="1s",
        scrape_timeout="1s",
        static_configs=[{"targets": [exporter_url.removeprefix("http://")]}],
    )
    return config


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drill]:
    tmp = tmp_path_factory.mktemp("drill")
    exporter_config = tmp / "exporter.yml"
    exporter_config.write_text(yaml.safe_dump({"keys": [{"name": KEY, "key_env": "DRILL_KEY"}]}))
    am_config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    with (
        webhook_receiver() as hooks,
        simulator(tmp, keys={KEY: TOKEN}, projects=5, endpoints=1) as sim,
        exporter(
            tmp,
            [
                "--config.file", str(exporter_config),
                "--neon.api-url", f"{sim.url}/api/v2",
                "--key-check.interval", "1s",
                "--poll.interval", "5s",
                "--neon.max-requests-per-minute", "6000",
            ],
            env={"DRILL_KEY": TOKEN},
        ) as exp,
        alertmanager(tmp, point_webhooks_at(am_config, hooks.url)) as am,
        prometheus(tmp, shipped_prometheus_config(exp.url, am)) as prom,
    ):  # fmt: skip
        d = Drill(sim, exp, prom, am, hooks, tmp)
        prom.wait_for_target_up("neon-exporter")
        wait_for(lambda: d.key_valid_in_prometheus() == 1, timeout=15, what="key valid")
        yield d


def _clear_faults(sim: Simulator) -> None:
    req = urllib.request.Request(f"{sim.url}/_sim/faults", method="DELETE")
    with urllib.request.urlopen(req, timeout=5):
        pass


def _requests_with_code(prom: Prometheus, code: str) -> float:
    result = prom.query(f'sum(neon_exporter_api_requests_total{{key="{KEY}",code="{code}"}})')
    return float(result[0]["value"][1]) if result else 0.0


def test_error_storm_does_not_page(drill: Drill) -> None:
    """A burst of 503s and 429s fails key checks and polls but never pages: no notification."""
    # First one key check's five attempts (the first and four retries) all get 503, so a key
    # check surely fails; then 503s and 429s (with Retry-After) on every route. Few enough
    # that the honoured Retry-After pauses keep the storm to seconds.
    faults = [
        {"status": 503, "key_name": KEY, "route": "/auth", "times": 5},
        {"status": 503, "key_name": KEY, "times": 15},
        {"status": 429, "key_name": KEY, "times": 6, "retry_after": "1"},
    ]
    storm = {"503": 20, "429": 6}
    before = len(drill.hooks.notifications)
    base = {code: _requests_with_code(drill.prom, code) for code in storm}
    started = time.time()
    try:
        for fault in faults:
            drill.sim.control("faults", fault)
        # The storm reached the exporter and Prometheus scraped its counters.
        wait_for(
            lambda: all(
                _requests_with_code(drill.prom, c) >= base[c] + n for c, n in storm.items()
            ),
            timeout=60,
            what="Prometheus to see the 503 and 429 storm",
        )
        stormed = time.time()
        # Not a fixed quiet window: every page starts as an ALERTS series in Prometheus, so
        # once the rules have been evaluated on the scrapes after the storm, an empty ALERTS
        # (asserted below) means no page can come.
        wait_for(
            lambda: _last_rule_evaluation(drill.prom) >= stormed + SETTLE,
            timeout=30,
            what="the rules evaluated after the storm",
        )
    finally:
        _clear_faults(drill.sim)
    window = f"{int(time.time() - started) + 2}s"
    assert drill.log_time("key check inconclusive", after=started) < stormed
    assert drill.hooks.notifications[before:] == []
    lowest = drill.prom.query(f"min_over_time({KEY_SELECTOR}[{window}])")
    assert float(lowest[0]["value"][1]) == 1
    assert drill.prom.query(f'ALERTS{{alertname="{ALERT}"}}[{window}]') == []
    drill.record("storm", {"faults_injected": started, "storm_seen": stormed})


def test_revoked_key_pages_and_restored_key_resolves(drill: Drill) -> None:
    """Revoking the key sends a firing NeonApiKeyInvalid for it to the critical webhook within
    seconds; restoring it sends the resolved notification."""
    wait_for(lambda: drill.key_valid_in_prometheus() == 1, timeout=15, what="key valid")
    labels = {"key": KEY}

    revoked = time.time()
    drill.sim.control(f"keys/{KEY}/revoke")
    firing = drill.hooks.wait_for(
        lambda n: n.received_at >= revoked and n.has(ALERT, status="firing", **labels),
        timeout=PAGE_TIMEOUT,
        what=f"firing {ALERT}",
    )
    am_received = _am_updated_at(drill.am)
    assert firing.receiver == "neon-critical"
    assert firing.path == "/neon/critical"
    alert = _alert(firing)
    assert alert["labels"]["severity"] == "critical"
    assert f'"{KEY}"' in alert["annotations"]["description"]
    assert alert["annotations"]["runbook_url"].endswith("docs/alerts.md#neonapikeyinvalid")
    drill.record(
        "revoke",
        {
            "revoked": revoked,
            "exporter_saw_401": drill.log_time("api key rejected", after=revoked),
            "scraped": drill.first_sample(KEY_SELECTOR, 0, after=revoked),
            "rule_fired": _rfc3339(alert["startsAt"]),
            "alertmanager_received": am_received,
            "webhook": firing.received_at,
        },
    )

    restored = time.time()
    drill.sim.control(f"keys/{KEY}/restore")
    resolved = drill.hooks.wait_for(
        lambda n: n.received_at >= restored and n.has(ALERT, status="resolved", **labels),
        timeout=RESOLVE_TIMEOUT,
        what=f"resolved {ALERT}",
    )
    assert resolved.receiver == "neon-critical"
    drill.record(
        "restore",
        {
            "restored": restored,
            "exporter_saw_200": drill.log_time("api key accepted", after=restored),
            "scraped": drill.first_sample(KEY_SELECTOR, 1, after=restored),
            "rule_resolved": _rfc3339(_alert(resolved)["endsAt"]),
            "webhook": resolved.received_at,
        },
    )


def _last_rule_evaluation(prom: Prometheus) -> float:
    """When the least recently evaluated rule group was last evaluated (Unix time)."""
    groups = prom.api("rules")["groups"]
    assert groups, "no rule groups loaded"
    return min(_rfc3339(g["lastEvaluation"]) for g in groups)


def _alert(notification: Notification) -> dict[str, Any]:
    (alert,) = (a for a in notification.alerts if a["labels"].get("alertname") == ALERT)
    return alert


def _am_updated_at(am: Alertmanager) -> float:
    """When Alertmanager received the (first, not yet re-sent) firing alert."""
    for a in am.alerts():
        if a["labels"].get("alertname") == ALERT and a["labels"].get("key") == KEY:
            return _rfc3339(a["updatedAt"])
    raise AssertionError(f"{ALERT} not in Alertmanager")


def _rfc3339(value: str) -> float:
    # Go prints up to nanoseconds and "Z"; fromisoformat takes microseconds at most.
    m = re.fullmatch(r"(?P<head>[^.]+?)(?P<frac>\.\d+)?(?P<tz>Z|[+-]\d\d:\d\d)", value)
    assert m is not None, value
    tz = "+00:00" if m["tz"] == "Z" else m["tz"]
    return datetime.fromisoformat(f"{m['head']}{(m['frac'] or '')[:7]}{tz}").timestamp()
