"""YAML file, environment and flags folded into one validated, frozen :class:`Config`.

Precedence is flags, then environment, then the YAML file, then defaults, for every setting of
the table in ``settings.py``. Every problem raises :class:`ConfigError` naming the setting as
given; only ``cli`` turns that into exit status 2. The collectors are the caller's (the areas
registry's): this module imports nothing above config and logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import ConfigError
from .keys import KeyConfig, KeySource, load_keys
from .parsers import LogFormat, MetricsMode
from .settings import BY_NAME, RESTART_ONLY, VALUES, YAML_FIELDS, default

NEON_RATE_LIMIT_PER_MINUTE = 700


def _default(name: str) -> Any:
    """A setting's default, from the table (Any: each field's annotation says its type)."""
    return default(BY_NAME[name])


@dataclass(frozen=True, slots=True)
class Config:
    api_url: str = _default("api_url")
    poll_interval: float = _default("poll_interval")
    poll_max_age: float = _default("poll_max_age")
    key_check_interval: float = _default("key_check_interval")
    max_requests_per_minute: float = _default("max_requests_per_minute")
    max_concurrency: int = _default("max_concurrency")
    # Each area refreshed on its own interval (settings.AREA_INTERVALS; Area.on_interval).
    usage_interval: float = _default("usage_interval")  # Neon updates usage every ~15 minutes
    recoverable_interval: float = _default("recoverable_interval")
    shared_interval: float = _default("shared_interval")
    spending_limit_interval: float = _default("spending_limit_interval")
    snapshots_interval: float = _default("snapshots_interval")
    api_keys_interval: float = _default("api_keys_interval")
    branch_usage_interval: float = _default("branch_usage_interval")
    account_interval: float = _default("account_interval")
    org_security_interval: float = _default("org_security_interval")
    vpc_endpoints_interval: float = _default("vpc_endpoints_interval")
    deleted_branches_interval: float = _default("deleted_branches_interval")
    backup_coverage_interval: float = _default("backup_coverage_interval")
    advisors_interval: float = _default("advisors_interval")
    request_timeout: float = _default("request_timeout")
    # Areas on or off, by name; build_config names every one (from the registry's defaults,
    # which its caller passes). One not named here takes the default its caller knows.
    collectors: Mapping[str, bool] = field(default_factory=dict)
    # Which projects to fetch and export (None: every one), and how to export them.
    projects_include: str | None = None
    projects_exclude: str | None = None
    projects_org_ids: tuple[str, ...] | None = None
    metrics_mode: MetricsMode = _default("metrics_mode")  # noqa: RUF009  # a str, immutable
    keys: tuple[KeyConfig, ...] = ()
    listen_address: str = _default("listen_address")
    web_config_file: str | None = _default("web_config_file")
    log_level: str = _default("log_level")
    log_format: LogFormat = _default("log_format")  # noqa: RUF009  # a str, immutable
    demo: bool = False
    # The keys are the ``default`` of NEON_API_KEY / NEON_API_KEY_FILE, not the file's: only
    # then may a reload take its keys from those variables.
    keys_from_env: bool = False
    enable_lifecycle: bool = False  # POST /-/reload, like Prometheus' --web.enable-lifecycle
    warnings: tuple[str, ...] = ()
    # How each setting given was named (flag, variable, "field in file"): for errors raised
    # after the fold, such as a web config file that does not load.
    given_as: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def api_version(self) -> Literal["v1", "v2"]:
        return "v1" if self.api_url.rstrip("/").endswith("/api/v1") else "v2"

    def collector(self, name: str, default: bool = False) -> bool:
        return self.collectors.get(name, default)

    def named(self, name: str) -> str:
        """The setting as the user gave it; its flag when it was not given."""
        return self.given_as.get(name) or BY_NAME[name].flag or name


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
    unknown = sorted(set(data) - YAML_FIELDS, key=str)
    if unknown:
        raise ConfigError(f"{unknown[0]} in {path}", "unknown setting")
    return data


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
        setting = BY_NAME[name]
        found: list[tuple[str, object, bool]] = []
        if setting.flag and self.flags.get(name) is not None:
            found.append((setting.flag, self.flags[name], False))
        found += [(v, self.env[v], False) for v in setting.env if self.env.get(v)]
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
    for setting in VALUES:
        assert setting.parse is not None  # what VALUES holds
        for i, (given_as, raw, from_file) in enumerate(sources.given(setting.name)):
            value = setting.parse(given_as, raw)
            if from_file:
                in_file[setting.name] = value
            if i == 0:
                values[setting.name], names[setting.name] = value, given_as
    return values, names, in_file


def _collectors(sources: _Sources, defaults: Mapping[str, bool], *, demo: bool) -> dict[str, bool]:
    # The demo shows every collector (its simulated API answers them all) unless told otherwise.
    collectors = dict.fromkeys(defaults, True) if demo else dict(defaults)
    file_collectors = sources.file.get("collectors") or {}
    if not isinstance(file_collectors, dict):
        raise ConfigError(
            f"collectors in {sources.path}", "must be a mapping of collector name to true/false"
        )
    for name, enabled in file_collectors.items():
        if name not in defaults:
            raise ConfigError(f"collectors.{name} in {sources.path}", "unknown collector")
        if not isinstance(enabled, bool):
            raise ConfigError(f"collectors.{name} in {sources.path}", "must be true or false")
        collectors[name] = enabled
    for name in defaults:
        if sources.flags.get(f"collector.{name}") is not None:
            collectors[name] = bool(sources.flags[f"collector.{name}"])
    return collectors


def _check_max_age(
    values: Mapping[str, Any], names: Mapping[str, str], in_file: Mapping[str, Any], path: str
) -> None:
    """poll_max_age must be at least poll_interval: in the file when it holds both, and in
    effect (``values`` has the demo's defaults by now)."""
    default_interval = _default("poll_interval")
    for name, max_age, interval in (
        (f"poll_max_age in {path}", in_file.get("poll_max_age"), in_file.get("poll_interval")),
        (
            names.get("poll_max_age"),
            values.get("poll_max_age"),
            values.get("poll_interval", default_interval),
        ),
    ):
        if name and max_age is not None and interval is not None and max_age < interval:
            raise ConfigError(name, f"must be at least the poll interval ({interval:g}s)")


def _no_key(config_file: str | None) -> ConfigError:
    if config_file:
        return ConfigError(
            f"keys in {config_file}",
            "no API key: the file defines none and NEON_API_KEY / NEON_API_KEY_FILE are unset",
        )
    return ConfigError(
        "keys",
        "no API key configured (NEON_API_KEY, NEON_API_KEY_FILE, keys in --config.file, or --demo)",
    )


def _sources(flags: Mapping[str, Any], env: Mapping[str, str]) -> _Sources:
    file_setting = "--config.file" if flags.get("config_file") else "NEON_EXPORTER_CONFIG"
    config_file = flags.get("config_file") or env.get("NEON_EXPORTER_CONFIG")
    file = _load_yaml(config_file, file_setting) if config_file else {}
    return _Sources(flags=flags, env=env, file=file, path=config_file)


def _derived(values: dict[str, Any], *, demo: bool) -> None:
    """Defaults that depend on others or on the demo, set where nothing was given."""
    if demo:
        # The demo is for watching things change: poll and probe faster unless told otherwise.
        # Its API is a local simulator, not Neon: a budget paced for Neon's 700 a minute made
        # the first poll of 24 projects take 9 s, showing a newcomer "pending" at first.
        for setting in VALUES:
            if setting.demo is not None:
                values.setdefault(setting.name, default(setting, demo=True))
    if "poll_max_age" not in values:
        # An unset max age must not reject a long poll interval: keep three polls' worth.
        interval = values.get("poll_interval", _default("poll_interval"))
        values["poll_max_age"] = max(_default("poll_max_age"), 3 * interval)


def build_config(
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    collectors: Mapping[str, bool],
    demo: bool = False,
    env_keys: bool = True,
) -> Config:
    """Fold parsed flags (``None`` = not given), the environment and the YAML file into a Config.

    ``flags`` uses the setting names as keys, plus ``collector.NAME``; ``collectors`` is each
    collector's default (the areas registry's). Without ``demo``, no key is an error. Without
    ``env_keys`` (a reload while the running keys came from the file), a file that defines no
    key is an error even when NEON_API_KEY or NEON_API_KEY_FILE is set: emptying the file's
    keys never switches to a key the operator did not mean to use.
    """
    warnings: list[str] = []
    sources = _sources(flags, env)
    values, names, in_file = _fold(sources)
    if values.get("max_requests_per_minute", 0) > NEON_RATE_LIMIT_PER_MINUTE:
        warnings.append(
            f"{names['max_requests_per_minute']} is above Neon's limit of 700 per minute; "
            "useful only against a test API"
        )
    values["collectors"] = _collectors(sources, collectors, demo=demo)
    if not env_keys and sources.path and not sources.file.get("keys"):
        raise ConfigError(
            f"keys in {sources.path}",
            "no API key: the file defines none, and a reload never switches from the file's "
            "keys to NEON_API_KEY / NEON_API_KEY_FILE (restart to use those)",
        )
    values["keys"] = load_keys(sources.file, sources.path or "", env, warnings)
    values["keys_from_env"] = bool(values["keys"]) and not sources.file.get("keys")
    if not values["keys"] and not demo:
        raise _no_key(sources.path)
    _derived(values, demo=demo)  # before the check: it applies to the demo's interval too
    _check_max_age(values, names, in_file, sources.path or "")
    values["enable_lifecycle"] = bool(flags.get("enable_lifecycle"))
    return Config(**values, demo=demo, warnings=tuple(warnings), given_as=names)


# KeyConfig and KeySource are the types of Config.keys: importable from here with it.
__all__ = ["RESTART_ONLY", "Config", "KeyConfig", "KeySource", "build_config"]
