"""Configuration: precedence, key sources, and one clear line with exit 2 for every bad input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from exporter.areas import AREAS
from exporter.cli import parse, run
from exporter.config.errors import ConfigError
from exporter.config.parsers import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2", 2), (15, 15)],
)
def test_durations(text: object, seconds: float) -> None:
    """Durations accept ms/s/m/h and combinations."""
    assert parse_duration("x", text) == seconds


def test_flags_win_over_env_and_env_over_file(tmp_path: Path) -> None:
    """Precedence is flags, then environment, then the YAML file."""
    cfg = tmp_path / "c.yml"
    cfg.write_text(
        "poll_interval: 2m\napi_url: https://file.example/api/v2\nlisten_address: ':1'\n"
    )
    env = {"NEON_API_KEY": "k" * 20, "NEON_API_URL": "https://env.example/api/v2"}
    _, c = parse(["--config.file", str(cfg), "--poll.interval", "45s"], env)
    assert c.poll_interval == 45
    assert c.api_url == "https://env.example/api/v2"
    assert c.listen_address == ":1"
    _, c = parse(["--config.file", str(cfg), "--neon.api-url", "http://flag.example/api/v1"], env)
    assert c.api_url == "http://flag.example/api/v1"
    assert c.api_version == "v1"
    assert c.poll_interval == 120


def test_env_key_is_default_and_yaml_keys_win_with_warning(tmp_path: Path) -> None:
    """NEON_API_KEY defines key 'default' unless the YAML has keys (then a warning)."""
    _, c = parse(["check"], {"NEON_API_KEY": "k" * 20})
    assert [k.name for k in c.keys] == ["default"]
    key = tmp_path / "prod.key"
    key.write_text("secret-value-123\n")
    key.chmod(0o600)
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"keys:\n  - name: prod\n    key_file: {key}\n    org_id: org-abc-1\n")
    _, c = parse(["--config.file", str(cfg)], {"NEON_API_KEY": "k" * 20})
    assert [(k.name, k.org_id) for k in c.keys] == [("prod", "org-abc-1")]
    assert any("ignored" in w for w in c.warnings)
    assert c.keys[0].source.get() == "secret-value-123"


def test_serve_without_any_key_runs_the_demo() -> None:
    """With no key configured, serving starts the built-in demo."""
    command, c = parse([], {})
    assert command == "serve"
    assert c.demo


def test_collector_flags() -> None:
    """--no-collector.endpoints turns the endpoints collector off."""
    _, c = parse(["--demo", "--no-collector.endpoints"], {})
    assert not c.collector("endpoints")


def test_key_file_too_open_warns(tmp_path: Path) -> None:
    """A key file readable by others gets a warning naming the key."""
    key = tmp_path / "k"
    key.write_text("secret-value-123")
    key.chmod(0o644)
    _, c = parse(["check"], {"NEON_API_KEY_FILE": str(key)})
    assert any("chmod 600" in w and "'default'" in w for w in c.warnings)


BAD = [
    (["--poll.interval", "soon"], {}, "poll.interval"),
    (["--poll.interval", "0s"], {}, "poll.interval"),
    (["--poll.interval", "5m", "--poll.max-age", "1m"], {}, "poll.max-age"),
    (["--neon.max-requests-per-minute", "-3"], {}, "neon.max-requests-per-minute"),
    (["--neon.max-requests-per-minute", "lots"], {}, "neon.max-requests-per-minute"),
    (["--neon.api-url", "ftp://x"], {}, "neon.api-url"),
    (["--web.listen-address", "nowhere"], {}, "web.listen-address"),
    (["--log.level", "loud"], {}, "log.level"),
    (["--log.format", "xml"], {}, "log.format"),
    (["--web.config.file", "/x.yml"], {}, "web.config.file"),
    (["check"], {}, "keys"),
    (["check"], {"NEON_API_KEY_FILE": "/nonexistent/key"}, "NEON_API_KEY"),
    (["--bogus-flag"], {}, "unrecognized arguments"),
]


@pytest.mark.parametrize(("argv", "env", "setting"), BAD)
def test_bad_flags_exit_2_with_one_line(
    argv: list[str], env: dict[str, str], setting: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each bad setting exits 2 with a single line that names it, and no traceback."""
    with pytest.raises(SystemExit) if argv == ["--bogus-flag"] else _no_raise():
        code = run(argv, {"PATH": "/usr/bin", **env})
        assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert setting in err
    assert "Traceback" not in err


class _no_raise:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


YAML_BAD = [
    ("poll_interval: [1\n", "--config.file"),
    ("- a\n- b\n", "--config.file"),
    ("pol_interval: 5s\n", "pol_interval"),
    ("keys:\n  - name: prod\n    key: abcdef\n", "keys[0]"),
    ("keys:\n  - name: prod\n", "keys[0]"),
    ("keys:\n  - name: 'bad name'\n    key_env: X\n", "keys[0].name"),
    ("keys:\n  - name: p\n    key_env: NEON_TEST_UNSET_VAR\n", "keys[0]"),
    ("keys:\n  - name: p\n    key_env: HOME\n  - name: p\n    key_env: HOME\n", "keys[1].name"),
    ("keys:\n  - name: p\n    key_env: HOME\n    org_id: 'Not Valid'\n", "keys[0].org_id"),
    ("collectors: {endpoints: maybe}\n", "collectors.endpoints"),
    ("collectors: {nope: true}\n", "collectors.nope"),
]


@pytest.mark.parametrize(("text", "setting"), YAML_BAD)
def test_bad_yaml_raises_config_error_naming_setting(
    tmp_path: Path, text: str, setting: str
) -> None:
    """Bad YAML content is a ConfigError whose message starts with the setting."""
    cfg = tmp_path / "c.yml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        parse(["--config.file", str(cfg)], {"HOME": "/root"})
    assert str(info.value).startswith(setting), str(info.value)


def test_bad_config_exits_2_as_a_process(tmp_path: Path) -> None:
    """The real process exits with status 2 and one line on stderr."""
    cfg = tmp_path / "c.yml"
    cfg.write_text("poll_interval: often\n")
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "--config.file", str(cfg)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        f"neon-exporter: error: poll_interval in {cfg}: not a duration (use e.g. 500ms, "
        "30s, 5m): 'often'\n"
    )


def _yaml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "neon-exporter.yml"
    path.write_text(text)
    return str(path)


def _error(argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> str:
    """Parse the command line as the CLI does (nothing is run, so Neon is never called); it must
    fail with a ConfigError, which ``run`` prints as one line with exit 2. Returns that line."""
    del capsys  # the line is the exception's text; run() writes exactly that
    with pytest.raises(ConfigError) as info:
        parse(argv, {"PATH": "/usr/bin", **env})
    line = str(info.value)
    assert "\n" not in line, line
    return line


# Areas refreshed on their own interval rather than every rotation.
INTERVAL_AREAS = [a.name for a in AREAS if a.on_interval]
DURATION_FIELDS = [
    ("poll_interval", "--poll.interval"),
    ("poll_max_age", "--poll.max-age"),
    ("key_check_interval", "--key-check.interval"),
    ("request_timeout", "--neon.timeout"),
    *((f"{a}_interval", f"--collector.{a}.interval") for a in INTERVAL_AREAS),
]


@pytest.mark.parametrize("area", INTERVAL_AREAS)
def test_every_area_on_an_interval_has_its_interval_setting(tmp_path: Path, area: str) -> None:
    """--collector.NAME.interval and the YAML field NAME_interval set each area's interval."""
    env = {"NEON_API_KEY": "k" * 20}
    _, config = parse(["check", f"--collector.{area}.interval=2h"], env)
    assert getattr(config, f"{area}_interval") == 7200.0
    path = _yaml(tmp_path, f"{area}_interval: 30m\n")
    _, config = parse(["check", "--config.file", path], env)
    assert getattr(config, f"{area}_interval") == 1800.0


@pytest.mark.parametrize(("field", "flag"), DURATION_FIELDS)
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "0", "-5", "0s", "-1m", "1e400"])
def test_non_finite_or_non_positive_yaml_durations_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, flag: str, value: str
) -> None:
    """.inf, .nan, zero and negative durations in the file name the YAML field and the file."""
    path = _yaml(tmp_path, f"{field}: {value}\n")
    line = _error(["check", "--config.file", path], {"NEON_API_KEY": "k" * 20}, capsys)
    assert line.startswith(f"{field} in {path}: "), line


@pytest.mark.parametrize(("field", "flag"), DURATION_FIELDS)
@pytest.mark.parametrize("value", ["inf", "nan", "0", "-5s", "0ms", "99999999999999999999d"])
def test_non_finite_or_non_positive_flag_durations_exit_2(
    capsys: pytest.CaptureFixture[str], field: str, flag: str, value: str
) -> None:
    """The same values given as flags name the flag."""
    line = _error(["check", f"{flag}={value}"], {"NEON_API_KEY": "k" * 20}, capsys)
    assert line.startswith(f"{flag}: "), line


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_requests_per_minute", ".inf"),
        ("max_requests_per_minute", ".nan"),
        ("max_requests_per_minute", "0"),
        ("max_requests_per_minute", "-1"),
        ("max_concurrency", ".inf"),
        ("max_concurrency", "0"),
        ("max_concurrency", "-2"),
        ("max_concurrency", "1.5"),
    ],
)
def test_non_positive_budget_or_concurrency_in_yaml_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: str
) -> None:
    """A budget or concurrency that is not a positive finite number names the YAML field."""
    path = _yaml(tmp_path, f"{field}: {value}\n")
    line = _error(["check", "--config.file", path], {"NEON_API_KEY": "k" * 20}, capsys)
    assert line.startswith(f"{field} in {path}: "), line


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--neon.max-requests-per-minute", "inf"),
        ("--neon.max-requests-per-minute", "nan"),
        ("--neon.max-requests-per-minute", "0"),
        ("--neon.max-concurrency", "0"),
        ("--neon.max-concurrency", "-1"),
    ],
)
def test_non_positive_budget_or_concurrency_flags_exit_2(
    capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    line = _error(["check", f"{flag}={value}"], {"NEON_API_KEY": "k" * 20}, capsys)
    assert line.startswith(f"{flag}: "), line


def test_infinite_poll_interval_exits_2_as_a_process(tmp_path: Path) -> None:
    """`poll_interval: .inf` is refused at start (exit 2, one line), not a traceback later."""
    path = _yaml(tmp_path, "poll_interval: .inf\n")
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "--config.file", path, "--web.listen-address", ":0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin", "NEON_API_KEY": "k" * 20},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"neon-exporter: error: poll_interval in {path}: "), proc.stderr
    assert proc.stderr.count("\n") == 1


def test_yaml_values_are_named_by_field_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value from the YAML file names the YAML field and the file, as the user wrote it."""
    env = {"NEON_API_KEY": "k" * 20}
    for text, field in [
        ("poll_interval: 60 fortnights\n", "poll_interval"),
        ("api_url: ftp://x\n", "api_url"),
        ("listen_address: nowhere\n", "listen_address"),
        ("log_level: loud\n", "log_level"),
        ("log_format: xml\n", "log_format"),
        ("web_config_file: /nonexistent/web.yml\n", "web_config_file"),
        ("poll_interval: 5m\npoll_max_age: 1m\n", "poll_max_age"),
        ("pol_interval: 5s\n", "pol_interval"),
        ("collectors: {nope: true}\n", "collectors.nope"),
        ("keys:\n  - name: 'bad name'\n    key_env: X\n", "keys[0].name"),
    ]:
        path = _yaml(tmp_path, text)
        line = _error(["check", "--config.file", path], env, capsys)
        assert line.startswith(f"{field} in {path}: "), line


@pytest.mark.parametrize(
    ("argv", "env", "name"),
    [
        (["--neon.api-url", "ftp://x"], {}, "--neon.api-url"),
        ([], {"NEON_API_URL": "ftp://x"}, "NEON_API_URL"),
        (["--web.listen-address", "nowhere"], {}, "--web.listen-address"),
        ([], {"NEON_EXPORTER_LISTEN_ADDRESS": "nowhere"}, "NEON_EXPORTER_LISTEN_ADDRESS"),
        (["--poll.interval", "60 fortnights"], {}, "--poll.interval"),
        (["--log.level", "loud"], {}, "--log.level"),
        (["--web.config.file", "/nonexistent/web.yml"], {}, "--web.config.file"),
        (["--poll.interval", "5m", "--poll.max-age", "1m"], {}, "--poll.max-age"),
    ],
)
def test_flag_and_env_values_are_named_as_given(
    capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str], name: str
) -> None:
    """A bad flag names the flag; a bad environment value names the variable."""
    line = _error(["check", *argv], {"NEON_API_KEY": "k" * 20, **env}, capsys)
    assert line.startswith(f"{name}: "), line


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("poll_interval: often\n", "poll_interval"),
        ("api_url: ftp://x\n", "api_url"),
        ("max_concurrency: 0\n", "max_concurrency"),
        ("log_level: loud\n", "log_level"),
        ("poll_interval: 5m\npoll_max_age: 1m\n", "poll_max_age"),
    ],
)
def test_yaml_file_must_be_valid_on_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, field: str
) -> None:
    """A bad value in the file is refused even when a flag overrides it (as Prometheus)."""
    path = _yaml(tmp_path, text)
    argv = [
        "check",
        "--config.file",
        path,
        "--poll.interval=30s",
        "--poll.max-age=10m",
        "--neon.api-url=https://x.example/api/v2",
        "--neon.max-concurrency=4",
        "--log.level=info",
    ]
    line = _error(argv, {"NEON_API_KEY": "k" * 20}, capsys)
    assert line.startswith(f"{field} in {path}: "), line


@pytest.mark.parametrize("variable", ["NEON_API_KEY", "NEON_API_KEY_FILE"])
@pytest.mark.parametrize("command", [[], ["check"], ["once"]])
def test_empty_key_variable_exits_2_instead_of_the_demo(
    capsys: pytest.CaptureFixture[str], variable: str, command: list[str]
) -> None:
    """NEON_API_KEY (or _FILE) set but empty is a mistake to name, not a reason for the demo."""
    line = _error(command, {variable: ""}, capsys)
    assert line.startswith(f"{variable}: "), line
    assert "empty" in line


@pytest.mark.parametrize("text", ["", "poll_interval: 30s\n", "keys: []\n"])
def test_config_file_without_keys_exits_2_instead_of_the_demo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """--config.file (or NEON_EXPORTER_CONFIG) with no key anywhere exits 2 naming the file."""
    path = _yaml(tmp_path, text)
    line = _error(["--config.file", path], {}, capsys)
    assert line.startswith(f"keys in {path}: "), line
    line = _error([], {"NEON_EXPORTER_CONFIG": path}, capsys)
    assert line.startswith(f"keys in {path}: "), line


def test_config_file_without_keys_uses_the_key_variable(tmp_path: Path) -> None:
    """A file without keys is fine when NEON_API_KEY supplies the key."""
    _, c = parse(["--config.file", _yaml(tmp_path, "poll_interval: 30s\n")], {"NEON_API_KEY": "k"})
    assert [k.name for k in c.keys] == ["default"]
    assert not c.demo


def test_demo_only_when_nothing_is_configured() -> None:
    """No file and no key variable: the demo, with one warning saying so; --demo: no warning."""
    _, c = parse([], {})
    assert c.demo
    assert [w for w in c.warnings if "demo" in w] == [
        "no API key and no config file: serving the built-in demo (a simulated Neon API, "
        "not Neon); set NEON_API_KEY or --config.file to poll Neon"
    ]
    _, c = parse(["--demo"], {})
    assert c.demo
    assert not c.warnings


CONFIG_DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def _help_flags() -> set[str]:
    """Every long flag `neon-exporter --help` lists (``--[no-]x`` as both spellings)."""
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    flags = set(re.findall(r"(?<![\w-])--[a-z][\w.-]*[\w]", proc.stdout))
    return flags - {"--help", "--version"}


def _documented_flags() -> set[str]:
    """Every flag docs/configuration.md names in backticks; ``--[no-]x`` counts as both."""
    text = CONFIG_DOC.read_text()
    flags: set[str] = set()
    for code in re.findall(r"`([^`]*)`", text):
        for flag in re.findall(r"(?<![\w-])--(\[no-\])?([a-z][\w.-]*[\w])", code):
            flags.add(f"--{flag[1]}")
            if flag[0]:
                flags.add(f"--no-{flag[1]}")
    return flags


def test_every_flag_in_help_is_documented_and_every_documented_flag_exists() -> None:
    """docs/configuration.md and --help name the same flags."""
    help_flags, documented = _help_flags(), _documented_flags()
    assert help_flags - documented == set(), "in --help but not in docs/configuration.md"
    assert documented - help_flags == set(), "in docs/configuration.md but not a flag"
    assert "once cli.py defines it" not in CONFIG_DOC.read_text()
