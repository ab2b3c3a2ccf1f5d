"""Configuration: precedence, key sources, and one clear line with exit 2 for every bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from exporter.cli import parse, run
from exporter.config import ConfigError, parse_duration


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
    ("poll_interval: [1\n", "config.file"),
    ("- a\n- b\n", "config.file"),
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
    assert (
        proc.stderr == "neon-exporter: error: poll.interval: not a duration (use e.g. 500ms, "
        "30s, 5m): 'often'\n"
    )
