"""The demo as a newcomer meets it: a reload that works (so the Compose demo never fires
NeonExporterConfigReloadFailed), and log lines that say what is simulated."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import structlog

from exporter.config.logs import setup_logging
from tests.procs import exporter, http_post, sample, wait_for


def test_demo_reload_succeeds_and_keeps_the_simulated_world(tmp_path: Path) -> None:
    """The demo's reload (POST and SIGHUP) succeeds, applies the file and keeps the demo's data."""
    settings = tmp_path / "demo.yml"
    settings.write_text("poll_interval: 30s\n")
    args = ["--demo", "--config.file", str(settings), "--web.enable-lifecycle"]
    with exporter(tmp_path, args) as exp:
        wait_for(
            lambda: sample(exp.metrics(), "neon_projects", {"key": "demo"}) == 24,
            timeout=30,
            what="the demo's first poll",
        )
        assert http_post(f"{exp.url}/-/reload") == 200
        settings.write_text("poll_interval: 1s\n")
        exp.proc.popen.send_signal(signal.SIGHUP)

        def reloaded_twice() -> bool:
            events = [r["event"] for r in exp.logs()]
            return events.count("configuration reloaded") == 2

        wait_for(reloaded_twice, timeout=15, what="two reloads")
        wait_for(
            lambda: sum(1 for r in exp.logs() if r["event"] == "poll done") >= 3,
            timeout=15,
            what="polls at the reloaded 1s interval",
        )
        text = exp.metrics()
        assert sample(text, "neon_exporter_config_last_reload_successful") == 1
        assert sample(text, "neon_api_key_valid", {"key": "demo"}) == 1
        assert sample(text, "neon_projects", {"key": "demo"}) == 24
        reloads = [r for r in exp.logs() if r["event"] == "configuration reloaded"]
    assert all(r["keys"] == ["demo"] and not r["added"] and not r["removed"] for r in reloads)


def test_demo_marks_the_simulated_worlds_events(tmp_path: Path) -> None:
    """The demo logs its staged failed operations at info, and marks Neon-world lines simulated."""
    with exporter(tmp_path, ["--demo"]) as exp:
        wait_for(
            lambda: any(r["event"] == "poll done" for r in exp.logs()),
            timeout=30,
            what="the demo's first poll",
        )
        logs = exp.logs()
    failed = [r for r in logs if r["event"] == "neon operation failed"]
    assert failed, "the demo's world has failed operations to show"
    assert {(r["level"], r.get("simulated")) for r in failed} == {("info", True)}
    assert all(r.get("simulated") is True for r in logs if r["event"] == "poll done")
    assert not any(r["level"] in ("warning", "error") for r in logs if r.get("simulated"))
    (listening,) = [r for r in logs if r["event"] == "listening"]
    assert "simulated" not in listening


def test_only_the_demo_marks_lines_simulated(tmp_path: Path) -> None:
    """Against Neon a failed operation stays an unmarked warning; in the demo, marked info."""
    records = {}
    for demo in (False, True):
        stream = tmp_path / f"log-{demo}.json"
        with stream.open("w") as out:
            setup_logging("info", "json", out, demo=demo)
            structlog.get_logger("exporter.areas.operations").warning("neon operation failed")
        records[demo] = json.loads(stream.read_text().splitlines()[0])
    setup_logging("info", "json")
    assert (records[False]["level"], "simulated" in records[False]) == ("warning", False)
    assert (records[True]["level"], records[True]["simulated"]) == ("info", True)
