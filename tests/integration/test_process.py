"""The exporter as users run it: a real process, real HTTP, real signals, real simulator."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.procs import Simulator, exporter, free_port, http_get, sample, simulator, wait_for
from tests.support import KEYS

ROOT = Path(__file__).resolve().parents[2]
TOKEN = KEYS["prod"]


def neon_env(url: str) -> dict[str, str]:
    return {"NEON_API_KEY": TOKEN, "NEON_API_URL": f"{url}/api/v2"}


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def test_http_endpoints_formats_and_sigterm(tmp_path: Path) -> None:
    """/metrics (text, OpenMetrics, gzip), /healthz, /readyz, / work; SIGTERM exits 0 quietly."""
    with (
        simulator(tmp_path, keys={"prod": TOKEN}, projects=3) as sim,
        exporter(tmp_path, ["--poll.interval", "1s"], env=neon_env(sim.url)) as exp,
    ):
        assert http_get(f"{exp.url}/healthz") == "ok\n"
        wait_for(lambda: _status(f"{exp.url}/readyz") == 200, timeout=15, what="readyz")
        text = exp.metrics()
        assert sample(text, "neon_projects", {"key": "default"}) == 3
        assert sample(text, "neon_api_key_valid", {"key": "default"}) == 1
        om = http_get(
            f"{exp.url}/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        assert om.endswith("# EOF\n")
        req = urllib.request.Request(f"{exp.url}/metrics", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert b"neon_projects" in gzip.decompress(resp.read())
        landing = http_get(exp.url + "/")
        assert "default" in landing
        assert "/metrics" in landing
        assert exp.proc.stop() == 0
        out = exp.proc.output()
        assert "Traceback" not in out
        assert '"event": "shutting down"' in out


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_readyz_waits_for_first_poll(tmp_path: Path) -> None:
    """/readyz is 503 until every key has had a first poll attempt."""
    with simulator(tmp_path, keys={"prod": TOKEN}, projects=2) as sim:
        sim.control("faults", {"delay": 3.0, "times": 3})
        with exporter(tmp_path, [], env=neon_env(sim.url)) as exp:
            assert _status(f"{exp.url}/readyz") == 503
            wait_for(lambda: _status(f"{exp.url}/readyz") == 200, timeout=20, what="readyz")


def test_check_command_table_and_exit_codes(tmp_path: Path) -> None:
    """check prints one row per key and exits 0 when all are valid, 1 when one is rejected."""
    with simulator(tmp_path, keys={"prod": TOKEN}, projects=4) as sim:
        ok = run_cli(["check"], neon_env(sim.url))
        assert ok.returncode == 0, ok.stderr
        assert re.search(r"^default\s+valid\s+4\s*$", ok.stdout, re.M), ok.stdout
        sim.control("keys/prod/revoke")
        bad = run_cli(["check"], neon_env(sim.url))
        assert bad.returncode == 1
        assert re.search(r"^default\s+rejected\s+-\s+/auth: HTTP 401", bad.stdout, re.M)
    unreachable = run_cli(
        ["check"], {"NEON_API_KEY": TOKEN, "NEON_API_URL": f"http://127.0.0.1:{free_port()}/api/v2"}
    )
    assert unreachable.returncode == 1
    assert re.search(
        r"^default\s+error\s+-\s+/auth: ClientConnectorError", unreachable.stdout, re.M
    )


def test_once_prints_exposition_that_promtool_accepts(tmp_path: Path) -> None:
    """once polls every key and prints a text exposition that promtool check metrics accepts."""
    with simulator(tmp_path, keys={"prod": TOKEN}, projects=6, endpoints=2) as sim:
        done = run_cli(["once"], neon_env(sim.url))
    assert done.returncode == 0, done.stderr
    assert sample(done.stdout, "neon_projects", {"key": "default"}) == 6
    lint = subprocess.run(
        ["promtool", "check", "metrics"],
        input=done.stdout.encode(),
        capture_output=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()


def documented_metrics() -> set[str]:
    text = (ROOT / "docs" / "metrics.md").read_text()
    return set(re.findall(r"^\| `(neon_[a-z_]+)` \|", text, re.M))


def _served(text: str) -> set[str]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        f.name + ("_total" if f.type == "counter" else "")
        for f in text_string_to_metric_families(text)
    }


def test_docs_metrics_match_the_exposition(tmp_path: Path) -> None:
    """Every metric served is in docs/metrics.md, and every metric documented is served: by
    `once` with every area on, over a usage-based plan and the free plan (usage per project,
    a key file), in both metrics modes, and with the key revoked (the rejection series)."""
    every = ["once", "--collector.branches", "--collector.usage", "--collector.spending_limit"]
    every += ["--collector.recoverable", "--collector.shared"]
    every += ["--collector.operations", "--collector.snapshots"]
    every += ["--collector.api_keys", "--collector.api_keys_address"]
    every += ["--collector.branch_usage", "--collector.account", "--collector.vpc_endpoints"]
    every += ["--collector.org_security", "--collector.org_members_identity"]
    every += ["--collector.deleted_branches", "--collector.backup_coverage"]
    every += ["--collector.advisors"]
    extra = ["--extras", "--org-id", "org-docs-1"]
    with simulator(
        tmp_path, keys={"prod": TOKEN}, projects=3, extra=[*extra, "--plan", "usage"]
    ) as sim:
        sim.control("keys/prod/revoke")
        revoked = run_cli(every, neon_env(sim.url)).stdout
        sim.control("keys/prod/restore")
        served_text = run_cli(every, neon_env(sim.url)).stdout
        aggregate = run_cli([*every, "--metrics.mode", "aggregate"], neon_env(sim.url)).stdout
    free = tmp_path / "free"  # a directory of its own for the second simulator's files
    free.mkdir()
    key_file = free / "key"
    key_file.write_text(TOKEN)
    key_file.chmod(0o600)
    with simulator(free, keys={"prod": TOKEN}, projects=3, extra=[*extra, "--plan", "free"]) as sim:
        env = {"NEON_API_KEY_FILE": str(key_file), "NEON_API_URL": f"{sim.url}/api/v2"}
        legacy = run_cli(every, env).stdout
    assert "neon_project_info" not in aggregate  # counts and sums only
    assert "neon_api_key_last_rejected_timestamp_seconds{" in revoked
    served = _served(revoked) | _served(served_text) | _served(aggregate) | _served(legacy)
    assert served == documented_metrics()


LEAK_FAULTS: list[dict[str, object]] = [
    {"status": 401, "route": "/projects", "times": 1},
    {"status": 403, "times": 2},
    {"status": 429, "times": 2, "retry_after": "0"},
    {"status": 500, "times": 2},
    {"status": 503, "times": 8},
    {"delay": 3.0, "times": 2},
    {"body": "<html>proxy error</html>", "times": 2},
]


def test_key_never_appears_in_any_output_at_debug_level(tmp_path: Path) -> None:
    """With debug logs, through 401/403/429/5xx/timeouts/bad bodies, the key is nowhere."""
    with simulator(tmp_path, keys={"prod": TOKEN}, projects=3) as sim:
        env = neon_env(sim.url)
        with exporter(
            tmp_path,
            [
                "--log.level",
                "debug",
                "--poll.interval",
                "1s",
                "--key-check.interval",
                "1s",
                "--neon.timeout",
                "1s",
            ],
            env=env,
        ) as exp:
            for fault in LEAK_FAULTS:
                _inject_until_served(sim, fault)
            outputs = [
                exp.metrics(),
                http_get(exp.url + "/"),
                _body(exp.url + "/nonexistent"),
                _body(exp.url + "/metrics?x=%ff"),
            ]
            assert exp.proc.stop() == 0
            outputs.append(exp.proc.output())
        sim.control("keys/prod/revoke")
        outputs += [
            run_cli(["check", "--log.level", "debug"], env).stdout,
            run_cli(["check", "--log.level", "debug"], env).stderr,
            run_cli(["once", "--log.level", "debug"], env).stdout,
            run_cli(["once", "--log.level", "debug"], env).stderr,
        ]
        requests = sim.requests()
    by_status = requests["by_status"]
    assert isinstance(by_status, dict)
    assert {"401", "403", "429", "500", "503"} <= set(by_status), by_status
    log = outputs[4]
    assert '"level": "debug"' in log
    for out in outputs:
        assert TOKEN not in out
        assert TOKEN[:20] not in out


def _inject_until_served(sim: Simulator, fault: dict[str, object]) -> None:
    """Inject ``fault`` and wait until the simulator has answered with it at least once: the
    exporter has then met it and logged what it logs about it."""
    served = _served_count(sim, fault)
    before = served()
    sim.control("faults", fault)
    wait_for(lambda: served() > before, timeout=30, what=f"fault {fault} served")


def _served_count(sim: Simulator, fault: dict[str, object]) -> Callable[[], int]:
    """A counter of the simulator's answers that grows when ``fault`` is served: those with its
    status, or (a body or delay fault, answered 200 or cut off) all of them."""

    def count() -> int:
        log = sim.requests()
        if "status" in fault:
            by_status = log["by_status"]
            assert isinstance(by_status, dict)
            return int(by_status.get(str(fault["status"]), 0))
        total = log["total"]
        assert isinstance(total, int)
        return total

    return count


def _body(url: str) -> str:
    try:
        return http_get(url)
    except urllib.error.HTTPError as exc:
        return str(exc.read().decode(errors="replace"))


def test_unexpected_error_traceback_has_no_locals_or_key(tmp_path: Path) -> None:
    """A traceback in the JSON log carries frames but no local variables, so no key."""
    from exporter.config.logs import setup_logging

    stream = tmp_path / "log.txt"
    with stream.open("w") as fh:
        setup_logging("debug", "json", fh)
        import structlog

        secret = TOKEN
        headers = {"Authorization": f"Bearer {secret}"}
        try:
            raise RuntimeError(f"boom with {headers}")
        except RuntimeError:
            structlog.get_logger("t").exception("failed")
    record = json.loads(stream.read_text().splitlines()[-1])
    assert record["exception"][0]["frames"]
    assert all("locals" not in f or not f["locals"] for f in record["exception"][0]["frames"])
    assert TOKEN not in stream.read_text()


def test_sigterm_during_a_slow_poll_exits_0_promptly(tmp_path: Path) -> None:
    """SIGTERM while a request to Neon hangs: exit 0 (not killed at 15 s), no traceback."""
    with simulator(tmp_path, keys={"prod": TOKEN}, projects=2) as sim:
        sim.control("faults", {"delay": 30.0, "times": None})
        with exporter(tmp_path, ["--neon.timeout", "60s"], env=neon_env(sim.url)) as exp:
            time.sleep(1.0)
            code = exp.proc.stop(timeout=15)  # SIGKILL after 15 s would give -9
            out = exp.proc.output()
            levels = {str(r["level"]) for r in exp.logs()}
    assert code == 0
    assert levels <= {"info", "warning"}, out
    assert "Traceback" not in out


def test_demo_says_so_in_one_log_line(tmp_path: Path) -> None:
    """With nothing configured serve runs the demo and warns once; --demo says so once (info)."""
    with exporter(tmp_path, []) as exp:
        implicit = [r for r in exp.logs() if "built-in demo" in str(r["event"])]
        assert sample(exp.metrics(), "neon_exporter_config_last_reload_successful") == 1
    assert [r["level"] for r in implicit] == ["warning"], implicit
    done = run_cli(["once", "--demo", "--log.format", "json"], {})
    lines = [line for line in done.stderr.splitlines() if "built-in demo" in line]
    assert len(lines) == 1, done.stderr
    assert json.loads(lines[0])["level"] == "info"
