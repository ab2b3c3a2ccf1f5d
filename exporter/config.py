"""YAML file, environment and flags folded into one validated, frozen :class:`Config`.

Precedence is flags, then environment, then the YAML file, then defaults. Every problem raises
:class:`ConfigError` naming the setting; only ``cli`` turns that into exit status 2.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import yaml

if TYPE_CHECKING:
    from .webconfig import WebConfig

DEFAULT_API_URL = "https://console.neon.tech/api/v2"
DEFAULT_LISTEN_ADDRESS = ":10049"
NEON_RATE_LIMIT_PER_MINUTE = 700
DEMO_REQUESTS_PER_MINUTE = 6000.0  # the demo's local simulator: 100 a second
COLLECTOR_DEFAULTS: Mapping[str, bool] = {"endpoints": True, "branches": False, "usage": False}

_KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ORG_ID = re.compile(r"^[a-z0-9-]{1,60}$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

LogFormat = Literal["auto", "json", "console"]
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(Exception):
    """A setting is missing or invalid; ``str()`` is one line that names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


def parse_duration(setting: str, value: object) -> float:
    """Parse ``500ms``, ``30s``, ``5m``, ``1h30m`` (or a bare number of seconds) into seconds."""
    if isinstance(value, bool):
        raise ConfigError(setting, f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            text += "s"  # a bare number is seconds
        pos, seconds = 0, 0.0
        for match in _DURATION.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            pos = match.end()
        if pos != len(text) or not text:
            raise ConfigError(setting, f"not a duration (use e.g. 500ms, 30s, 5m): {text!r}")
    if seconds <= 0:
        raise ConfigError(setting, "must be greater than zero")
    return seconds


class KeySource:
    """Where one API key comes from. The key itself is only read, never stored in the config.

    A file is re-read when its identity changes (inode, size or mtime), so a rotated Kubernetes
    secret (an atomic symlink swap) is picked up on the next request without a restart.
    """

    __slots__ = ("_cached", "_environ", "_stamp", "env", "file")

    def __init__(
        self,
        *,
        env: str | None = None,
        file: str | None = None,
        value: str | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        # ``value`` is only for keys the exporter made itself (the demo's), never user input.
        self.env, self.file, self._environ = env, file, environ
        self._cached = value or ""
        self._stamp: tuple[int, int, int] | None = None

    def __repr__(self) -> str:
        return f"KeySource({self.describe()})"

    def describe(self) -> str:
        if self.env:
            return f"env {self.env}"
        return f"file {self.file}" if self.file else "built-in demo key"

    def get(self) -> str:
        """Return the current key; raise ``OSError``/``ValueError`` if it cannot be had."""
        if self.env is not None:
            value = self._environ.get(self.env, "").strip()
            if not value:
                raise ValueError(f"environment variable {self.env} is empty or unset")
            return value
        if self.file is None:
            return self._cached
        st = os.stat(self.file)
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self._stamp:
            value = Path(self.file).read_text(encoding="utf-8").strip()
            if not value:
                raise ValueError(f"key file {self.file} is empty")
            self._cached, self._stamp = value, stamp
        return self._cached

    def too_open(self) -> bool:
        """True for a key file that group or others may read (wider than 0600)."""
        if self.file is None:
            return False
        return bool(os.stat(self.file).st_mode & (stat.S_IRWXG | stat.S_IRWXO))


@dataclass(frozen=True, slots=True)
class KeyConfig:
    name: str
    source: KeySource = field(compare=False)
    org_id: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    api_url: str = DEFAULT_API_URL
    poll_interval: float = 60.0
    poll_max_age: float = 600.0
    key_check_interval: float = 30.0
    max_requests_per_minute: float = 300.0
    max_concurrency: int = 8
    usage_interval: float = 900.0  # Neon updates usage about every 15 minutes
    request_timeout: float = 10.0
    collectors: Mapping[str, bool] = field(default_factory=lambda: dict(COLLECTOR_DEFAULTS))
    keys: tuple[KeyConfig, ...] = ()
    listen_address: str = DEFAULT_LISTEN_ADDRESS
    web_config_file: str | None = None
    web: WebConfig | None = field(default=None, compare=False)  # the loaded web_config_file
    log_level: str = "info"
    log_format: LogFormat = "auto"
    demo: bool = False
    enable_lifecycle: bool = False  # POST /-/reload, like Prometheus' --web.enable-lifecycle
    warnings: tuple[str, ...] = ()

    @property
    def api_version(self) -> Literal["v1", "v2"]:
        return "v1" if self.api_url.rstrip("/").endswith("/api/v1") else "v2"

    def collector(self, name: str) -> bool:
        return self.collectors.get(name, False)


def split_listen_address(address: str) -> tuple[str | None, int]:
    """``:10049`` -> (None, 10049) meaning every interface; ``[::1]:9`` -> ("::1", 9)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError("web.listen-address", f"expected [host]:port, got {address!r}")
    host = host.strip("[]")
    return (host or None), int(port)


# Settings the YAML file may hold (each also has a flag).
_YAML_FIELDS = frozenset(
    {
        "api_url",
        "poll_interval",
        "poll_max_age",
        "key_check_interval",
        "max_requests_per_minute",
        "max_concurrency",
        "usage_interval",
        "request_timeout",
        "collectors",
        "keys",
        "listen_address",
        "web_config_file",
        "log_level",
        "log_format",
    }
)
# Settings a reload cannot change in a running process.
RESTART_ONLY = (
    "listen_address",
    "web_config_file",
    "log_level",
    "log_format",
    "collectors",
    "enable_lifecycle",
    "demo",
)
_KEY_FIELDS = frozenset({"name", "key_env", "key_file", "org_id"})


def _load_yaml(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("config.file", f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError("config.file", f"{path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config.file", f"{path} must be a YAML mapping")
    unknown = sorted(set(data) - _YAML_FIELDS)
    if unknown:
        raise ConfigError(unknown[0], f"unknown setting in {path}")
    return data


def _keys_from_yaml(raw: object, env: Mapping[str, str]) -> list[KeyConfig]:
    if not isinstance(raw, list):
        raise ConfigError("keys", "must be a list of {name, key_env | key_file, org_id}")
    keys: list[KeyConfig] = []
    for i, item in enumerate(raw):
        where = f"keys[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(where, "must be a mapping")
        if "key" in item or "api_key" in item:
            raise ConfigError(where, "an API key is never written inline: use key_env or key_file")
        unknown = sorted(set(item) - _KEY_FIELDS)
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}", "unknown setting")
        name = item.get("name")
        if not isinstance(name, str) or not _KEY_NAME.match(name):
            raise ConfigError(f"{where}.name", "required; letters, digits, '_', '.', '-'")
        key_env, file = item.get("key_env"), item.get("key_file")
        if (key_env is None) == (file is None):
            raise ConfigError(f"{where}", f"key {name!r} needs exactly one of key_env, key_file")
        org_id = item.get("org_id")
        if org_id is not None and (not isinstance(org_id, str) or not _ORG_ID.match(org_id)):
            raise ConfigError(f"{where}.org_id", f"not a Neon organization id: {org_id!r}")
        keys.append(
            KeyConfig(
                name=name,
                source=KeySource(env=_opt_str(key_env), file=_opt_str(file), environ=env),
                org_id=org_id,
            )
        )
    return keys


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _validate_key(key: KeyConfig, setting: str) -> None:
    try:
        key.source.get()
    except (OSError, ValueError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problem = f"key {key.name!r} from {key.source.describe()}: {detail}"
        raise ConfigError(setting, problem) from None


def build_config(flags: Mapping[str, Any], env: Mapping[str, str], *, demo: bool = False) -> Config:
    """Fold parsed flags (``None`` = not given), the environment and the YAML file into a Config.

    ``flags`` uses the YAML field names as keys, plus ``config_file`` and ``collector.NAME``.
    """
    warnings: list[str] = []
    config_file = flags.get("config_file") or env.get("NEON_EXPORTER_CONFIG")
    file_values = _load_yaml(config_file) if config_file else {}

    def pick(name: str, env_name: str | None = None) -> Any:
        if flags.get(name) is not None:
            return flags[name]
        if env_name and env.get(env_name):
            return env[env_name]
        return file_values.get(name)

    values: dict[str, Any] = {}
    api_url = pick("api_url", "NEON_API_URL")
    if api_url is not None:
        parts = urlsplit(str(api_url))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("neon.api-url", f"not an http(s) URL: {api_url!r}")
        values["api_url"] = str(api_url).rstrip("/")
    for name, flag in (
        ("poll_interval", "poll.interval"),
        ("poll_max_age", "poll.max-age"),
        ("key_check_interval", "key-check.interval"),
        ("request_timeout", "neon.timeout"),
        ("usage_interval", "collector.usage.interval"),
    ):
        raw = pick(name)
        if raw is not None:
            values[name] = parse_duration(flag, raw)
    rpm = pick("max_requests_per_minute")
    if rpm is not None:
        try:
            values["max_requests_per_minute"] = float(rpm)
        except (TypeError, ValueError):
            raise ConfigError("neon.max-requests-per-minute", f"not a number: {rpm!r}") from None
        if not values["max_requests_per_minute"] > 0:
            raise ConfigError("neon.max-requests-per-minute", "must be greater than zero")
        if values["max_requests_per_minute"] > NEON_RATE_LIMIT_PER_MINUTE:
            warnings.append(
                "neon.max-requests-per-minute is above Neon's limit of 700 per minute; "
                "useful only against a test API"
            )
    conc = pick("max_concurrency")
    if conc is not None:
        if isinstance(conc, bool) or not str(conc).isdigit() or int(conc) < 1:
            raise ConfigError("neon.max-concurrency", f"must be a positive integer: {conc!r}")
        values["max_concurrency"] = int(conc)

    # The demo shows every collector (its simulated API answers them all) unless told otherwise.
    collectors = dict.fromkeys(COLLECTOR_DEFAULTS, True) if demo else dict(COLLECTOR_DEFAULTS)
    file_collectors = file_values.get("collectors") or {}
    if not isinstance(file_collectors, dict):
        raise ConfigError("collectors", "must be a mapping of collector name to true/false")
    for name, enabled in file_collectors.items():
        if name not in COLLECTOR_DEFAULTS:
            raise ConfigError(f"collectors.{name}", "unknown collector")
        if not isinstance(enabled, bool):
            raise ConfigError(f"collectors.{name}", "must be true or false")
        collectors[name] = enabled
    for name in COLLECTOR_DEFAULTS:
        if flags.get(f"collector.{name}") is not None:
            collectors[name] = bool(flags[f"collector.{name}"])
    values["collectors"] = collectors

    listen = pick("listen_address", "NEON_EXPORTER_LISTEN_ADDRESS")
    if listen is not None:
        split_listen_address(str(listen))
        values["listen_address"] = str(listen)
    web_config = pick("web_config_file")
    if web_config is not None:
        from .webconfig import load_web_config  # webconfig raises this module's ConfigError

        values["web_config_file"] = str(web_config)
        values["web"] = load_web_config(str(web_config))
    level = pick("log_level")
    if level is not None:
        if str(level).lower() not in LOG_LEVELS:
            raise ConfigError("log.level", f"one of {', '.join(LOG_LEVELS)}; got {level!r}")
        values["log_level"] = str(level).lower()
    fmt = pick("log_format")
    if fmt is not None:
        if fmt not in ("auto", "json", "console"):
            raise ConfigError("log.format", f"one of auto, json, console; got {fmt!r}")
        values["log_format"] = fmt

    keys = _keys_from_yaml(file_values["keys"], env) if "keys" in file_values else []
    env_key, env_key_file = env.get("NEON_API_KEY"), env.get("NEON_API_KEY_FILE")
    if keys and (env_key or env_key_file):
        warnings.append("NEON_API_KEY / NEON_API_KEY_FILE ignored: the config file defines keys")
    elif env_key_file:
        keys = [KeyConfig(name="default", source=KeySource(file=env_key_file))]
    elif env_key:
        keys = [KeyConfig(name="default", source=KeySource(env="NEON_API_KEY", environ=env))]
    seen: set[str] = set()
    for i, key in enumerate(keys):
        if key.name in seen:
            raise ConfigError(f"keys[{i}].name", f"duplicate key name {key.name!r}")
        seen.add(key.name)
        _validate_key(key, f"keys[{i}]" if "keys" in file_values else "NEON_API_KEY")
        if key.source.too_open():
            warnings.append(
                f"key file of {key.name!r} ({key.source.file}) is readable by group or others; "
                "chmod 600 it"
            )
    values["keys"] = tuple(keys)

    if demo:
        # The demo is for watching things change: poll and probe faster unless told otherwise.
        values.setdefault("poll_interval", 15.0)
        values.setdefault("key_check_interval", 5.0)
        # Its API is a local simulator, not Neon: a budget paced for Neon's 700 a minute made
        # the first poll of 24 projects take 9 s, showing a newcomer "pending" at first.
        values.setdefault("max_requests_per_minute", DEMO_REQUESTS_PER_MINUTE)
    if "poll_max_age" not in values:
        # An unset max age must not reject a long poll interval: keep three polls' worth.
        values["poll_max_age"] = max(600.0, 3 * values.get("poll_interval", 60.0))
    values["enable_lifecycle"] = bool(flags.get("enable_lifecycle"))
    config = Config(**values, demo=demo, warnings=tuple(warnings))
    if config.poll_max_age < config.poll_interval:
        raise ConfigError("poll.max-age", "must be at least poll.interval")
    return config
