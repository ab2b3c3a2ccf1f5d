"""YAML file, environment and flags folded into one validated, frozen :class:`Config`.

Precedence is flags, then environment, then the YAML file, then defaults. Every problem raises
:class:`ConfigError` naming the setting; only ``cli`` turns that into exit status 2.
"""

from __future__ import annotations

import math
import os
import re
import stat
import time
from collections.abc import Callable, Mapping
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
COLLECTOR_DEFAULTS: Mapping[str, bool] = {
    "endpoints": True,
    "branches": False,
    "usage": False,
    "recoverable": False,
    "api_keys": False,
    "api_keys_address": False,
}

_KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ORG_ID = re.compile(r"^[a-z0-9-]{1,60}$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

LogFormat = Literal["auto", "json", "console"]
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(Exception):
    """A setting is missing or invalid; ``str()`` is one line that names the setting as the user
    wrote it: the flag (``--poll.interval``), the variable (``NEON_API_URL``) or the YAML field and
    file (``poll_interval in /etc/neon-exporter.yml``)."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


# Longer than any sensible interval or timeout, and far below what timedelta and the scheduler
# can hold (an absurd value is a typo to name, not a crash later).
MAX_DURATION = 365 * 86400.0


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
    # YAML's .inf and .nan are floats: refuse them here, not as a crash in the scheduler.
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(setting, f"must be a finite duration greater than zero: {value!r}")
    if seconds > MAX_DURATION:
        raise ConfigError(setting, f"must be at most 365d: {value!r}")
    return seconds


class KeySource:
    """Where one API key comes from. The key itself is only read, never stored in the config.

    A file is re-read when its identity changes (inode, size or mtime), so a rotated Kubernetes
    secret (an atomic symlink swap) is picked up on the next request without a restart.
    """

    __slots__ = ("_cached", "_environ", "_stamp", "env", "file", "read_at")

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
        # Wall time the file was last (re-)read: tells an operator a rotated key is in use.
        self.read_at: float | None = None

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
            self.read_at = time.time()
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


def split_listen_address(
    address: str, setting: str = "--web.listen-address"
) -> tuple[str | None, int]:
    """``:10049`` -> (None, 10049) meaning every interface; ``[::1]:9`` -> ("::1", 9)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(setting, f"expected [host]:port, got {address!r}")
    host = host.strip("[]")
    return (host or None), int(port)


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting as the user writes it: YAML field (also the Config attribute), flag and,
    for some, an environment variable. Errors name whichever of these the value came from."""

    field: str
    flag: str
    env: str | None = None


SETTINGS: Mapping[str, Setting] = {
    s.field: s
    for s in (
        Setting("api_url", "--neon.api-url", "NEON_API_URL"),
        Setting("poll_interval", "--poll.interval"),
        Setting("poll_max_age", "--poll.max-age"),
        Setting("key_check_interval", "--key-check.interval"),
        Setting("max_requests_per_minute", "--neon.max-requests-per-minute"),
        Setting("max_concurrency", "--neon.max-concurrency"),
        Setting("usage_interval", "--collector.usage.interval"),
        Setting("request_timeout", "--neon.timeout"),
        Setting("listen_address", "--web.listen-address", "NEON_EXPORTER_LISTEN_ADDRESS"),
        Setting("web_config_file", "--web.config.file"),
        Setting("log_level", "--log.level"),
        Setting("log_format", "--log.format"),
    )
}
DURATIONS = (
    "poll_interval",
    "poll_max_age",
    "key_check_interval",
    "request_timeout",
    "usage_interval",
)
# Settings the YAML file may hold: every one above, plus collectors and keys.
_YAML_FIELDS = frozenset({*SETTINGS, "collectors", "keys"})
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


def _load_yaml(path: str, setting: str) -> dict[str, Any]:
    """The file's mapping; ``setting`` is how the file was named (flag or variable)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(setting, f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(setting, f"{path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(setting, f"{path} must be a YAML mapping")
    unknown = sorted(set(data) - _YAML_FIELDS, key=str)
    if unknown:
        raise ConfigError(f"{unknown[0]} in {path}", "unknown setting")
    return data


def _keys_from_yaml(raw: object, env: Mapping[str, str], path: str) -> list[KeyConfig]:
    if not isinstance(raw, list):
        raise ConfigError(f"keys in {path}", "must be a list of {name, key_env | key_file, org_id}")
    keys: list[KeyConfig] = []
    for i, item in enumerate(raw):
        where = f"keys[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where} in {path}", "must be a mapping")
        if "key" in item or "api_key" in item:
            raise ConfigError(
                f"{where} in {path}", "an API key is never written inline: use key_env or key_file"
            )
        unknown = sorted(set(item) - _KEY_FIELDS, key=str)
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]} in {path}", "unknown setting")
        name = item.get("name")
        if not isinstance(name, str) or not _KEY_NAME.match(name):
            raise ConfigError(f"{where}.name in {path}", "required; letters, digits, '_', '.', '-'")
        key_env, file = item.get("key_env"), item.get("key_file")
        if (key_env is None) == (file is None):
            raise ConfigError(
                f"{where} in {path}", f"key {name!r} needs exactly one of key_env, key_file"
            )
        org_id = item.get("org_id")
        if org_id is not None and (not isinstance(org_id, str) or not _ORG_ID.match(org_id)):
            raise ConfigError(
                f"{where}.org_id in {path}", f"not a Neon organization id: {org_id!r}"
            )
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


# Parsers of single values: (name as the user wrote it, raw value) -> value, or ConfigError.


def _api_url(setting: str, raw: object) -> str:
    parts = urlsplit(str(raw))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(setting, f"not an http(s) URL: {raw!r}")
    return str(raw).rstrip("/")


def _budget(setting: str, raw: object) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]  # anything else is the error below
    except (TypeError, ValueError):
        raise ConfigError(setting, f"not a number: {raw!r}") from None
    if isinstance(raw, bool) or not (math.isfinite(value) and value > 0):
        raise ConfigError(setting, f"must be a finite number greater than zero: {raw!r}")
    return value


def _concurrency(setting: str, raw: object) -> int:
    if isinstance(raw, bool) or not str(raw).isdigit() or int(str(raw)) < 1:
        raise ConfigError(setting, f"must be a positive integer: {raw!r}")
    return int(str(raw))


def _listen_address(setting: str, raw: object) -> str:
    split_listen_address(str(raw), setting)
    return str(raw)


def _web_config(setting: str, raw: object) -> tuple[str, WebConfig]:
    from .webconfig import load_web_config  # webconfig imports this module

    try:
        return str(raw), load_web_config(str(raw))
    except ConfigError as exc:  # webconfig names its own fields; name the setting as written
        raise ConfigError(setting, exc.problem) from None


def _log_level(setting: str, raw: object) -> str:
    if str(raw).lower() not in LOG_LEVELS:
        raise ConfigError(setting, f"one of {', '.join(LOG_LEVELS)}; got {raw!r}")
    return str(raw).lower()


def _log_format(setting: str, raw: object) -> LogFormat:
    if raw not in ("auto", "json", "console"):
        raise ConfigError(setting, f"one of auto, json, console; got {raw!r}")
    return raw


_PARSERS: Mapping[str, Callable[[str, object], object]] = {
    "api_url": _api_url,
    **dict.fromkeys(DURATIONS, parse_duration),
    "max_requests_per_minute": _budget,
    "max_concurrency": _concurrency,
    "listen_address": _listen_address,
    "web_config_file": _web_config,
    "log_level": _log_level,
    "log_format": _log_format,
}


@dataclass(frozen=True, slots=True)
class _Sources:
    """Where values come from: parsed flags (``None`` = not given), environment, YAML file."""

    flags: Mapping[str, Any]
    env: Mapping[str, str]
    file: Mapping[str, Any]
    path: str | None

    def given(self, name: str) -> list[tuple[str, object, bool]]:
        """Each value given for a setting, highest precedence first: (the name it was given
        under, the raw value, whether it is from the file)."""
        setting = SETTINGS[name]
        found: list[tuple[str, object, bool]] = []
        if self.flags.get(name) is not None:
            found.append((setting.flag, self.flags[name], False))
        if setting.env and self.env.get(setting.env):
            found.append((setting.env, self.env[setting.env], False))
        if self.file.get(name) is not None:
            found.append((f"{name} in {self.path}", self.file[name], True))
        return found


def _fold(sources: _Sources) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """(effective values, the name each was given under, the file's own values).

    Every value given is parsed, also those a flag or variable overrides: the file must be
    valid on its own (as Prometheus treats its config file), or it breaks the day the flag goes.
    """
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    in_file: dict[str, Any] = {}
    for name, parse in _PARSERS.items():
        for i, (given_as, raw, from_file) in enumerate(sources.given(name)):
            value = parse(given_as, raw)
            if from_file:
                in_file[name] = value
            if i == 0:
                values[name], names[name] = value, given_as
    return values, names, in_file


def _collectors(sources: _Sources, flags: Mapping[str, Any], *, demo: bool) -> dict[str, bool]:
    # The demo shows every collector (its simulated API answers them all) unless told otherwise.
    collectors = dict.fromkeys(COLLECTOR_DEFAULTS, True) if demo else dict(COLLECTOR_DEFAULTS)
    file_collectors = sources.file.get("collectors") or {}
    if not isinstance(file_collectors, dict):
        raise ConfigError(
            f"collectors in {sources.path}", "must be a mapping of collector name to true/false"
        )
    for name, enabled in file_collectors.items():
        if name not in COLLECTOR_DEFAULTS:
            raise ConfigError(f"collectors.{name} in {sources.path}", "unknown collector")
        if not isinstance(enabled, bool):
            raise ConfigError(f"collectors.{name} in {sources.path}", "must be true or false")
        collectors[name] = enabled
    for name in COLLECTOR_DEFAULTS:
        if flags.get(f"collector.{name}") is not None:
            collectors[name] = bool(flags[f"collector.{name}"])
    return collectors


def _env_key(env: Mapping[str, str]) -> list[KeyConfig]:
    """The key named ``default`` from NEON_API_KEY_FILE or NEON_API_KEY, if either is set.

    Set but empty is a mistake (an unfilled secret, a ``${VAR:-}`` in a compose file), named
    here rather than taken as "no key" and answered with the demo."""
    for variable in ("NEON_API_KEY_FILE", "NEON_API_KEY"):
        value = env.get(variable)
        if value is None:
            continue
        if not value.strip():
            raise ConfigError(variable, "set but empty: give it the key, or unset it")
        if variable == "NEON_API_KEY_FILE":
            source = KeySource(file=value)
        else:
            source = KeySource(env=variable, environ=env)
        return [KeyConfig(name="default", source=source)]
    return []


def _keys(sources: _Sources, env: Mapping[str, str], warnings: list[str]) -> tuple[KeyConfig, ...]:
    path = sources.path or ""
    keys = _keys_from_yaml(sources.file["keys"], env, path) if "keys" in sources.file else []
    if not keys:
        keys = _env_key(env)
        names = ["NEON_API_KEY_FILE" if "NEON_API_KEY_FILE" in env else "NEON_API_KEY"] * len(keys)
    else:
        if env.get("NEON_API_KEY") or env.get("NEON_API_KEY_FILE"):
            warnings.append(
                "NEON_API_KEY / NEON_API_KEY_FILE ignored: the config file defines keys"
            )
        names = [f"keys[{i}] in {path}" for i in range(len(keys))]
    seen: set[str] = set()
    for key, given_as in zip(keys, names, strict=True):
        if key.name in seen:
            raise ConfigError(
                given_as.replace("] in", "].name in"), f"duplicate key name {key.name!r}"
            )
        seen.add(key.name)
        _validate_key(key, given_as)
        if key.source.too_open():
            warnings.append(
                f"key file of {key.name!r} ({key.source.file}) is readable by group or others; "
                "chmod 600 it"
            )
    return tuple(keys)


def _check_max_age(
    values: Mapping[str, Any], names: Mapping[str, str], in_file: Mapping[str, Any], path: str
) -> None:
    """poll_max_age must be at least poll_interval: in the file when it holds both, and in
    effect (``values`` has the demo's defaults by now)."""
    for name, max_age, interval in (
        (f"poll_max_age in {path}", in_file.get("poll_max_age"), in_file.get("poll_interval")),
        (names.get("poll_max_age"), values.get("poll_max_age"), values.get("poll_interval", 60.0)),
    ):
        if name and max_age is not None and interval is not None and max_age < interval:
            raise ConfigError(name, f"must be at least the poll interval ({interval:g}s)")


def build_config(flags: Mapping[str, Any], env: Mapping[str, str], *, demo: bool = False) -> Config:
    """Fold parsed flags (``None`` = not given), the environment and the YAML file into a Config.

    ``flags`` uses the YAML field names as keys, plus ``config_file`` and ``collector.NAME``.
    Without ``demo``, a configuration with no key is an error.
    """
    warnings: list[str] = []
    file_setting = "--config.file" if flags.get("config_file") else "NEON_EXPORTER_CONFIG"
    config_file = flags.get("config_file") or env.get("NEON_EXPORTER_CONFIG")
    sources = _Sources(
        flags=flags,
        env=env,
        file=_load_yaml(config_file, file_setting) if config_file else {},
        path=config_file,
    )
    values, names, in_file = _fold(sources)
    if "web_config_file" in values:
        values["web_config_file"], values["web"] = values["web_config_file"]
    if values.get("max_requests_per_minute", 0) > NEON_RATE_LIMIT_PER_MINUTE:
        warnings.append(
            f"{names['max_requests_per_minute']} is above Neon's limit of 700 per minute; "
            "useful only against a test API"
        )
    values["collectors"] = _collectors(sources, flags, demo=demo)
    values["keys"] = _keys(sources, env, warnings)
    if not values["keys"] and not demo:
        if config_file:
            raise ConfigError(
                f"keys in {config_file}",
                "no API key: the file defines none and NEON_API_KEY / NEON_API_KEY_FILE are unset",
            )
        raise ConfigError(
            "keys",
            "no API key configured (NEON_API_KEY, NEON_API_KEY_FILE, "
            "keys in --config.file, or --demo)",
        )

    if demo:
        # The demo is for watching things change: poll and probe faster unless told otherwise.
        values.setdefault("poll_interval", 15.0)
        values.setdefault("key_check_interval", 5.0)
        # Its API is a local simulator, not Neon: a budget paced for Neon's 700 a minute made
        # the first poll of 24 projects take 9 s, showing a newcomer "pending" at first.
        values.setdefault("max_requests_per_minute", DEMO_REQUESTS_PER_MINUTE)
    _check_max_age(values, names, in_file, config_file or "")
    if "poll_max_age" not in values:
        # An unset max age must not reject a long poll interval: keep three polls' worth.
        values["poll_max_age"] = max(600.0, 3 * values.get("poll_interval", 60.0))
    values["enable_lifecycle"] = bool(flags.get("enable_lifecycle"))
    return Config(**values, demo=demo, warnings=tuple(warnings))
