"""API keys: where each comes from (never the key itself in the config), from the YAML file's
``keys`` or from NEON_API_KEY / NEON_API_KEY_FILE, each checked readable at load."""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .logs import register_secret

_KEY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ORG_ID = re.compile(r"^[a-z0-9-]{1,60}$")
_KEY_FIELDS = frozenset({"name", "key_env", "key_file", "org_id"})


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
        value = self._read()
        register_secret(value)  # on every read: a rotated key is a new secret to redact
        return value

    def _read(self) -> str:
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

    def exposure(self) -> str | None:
        """Who besides the exporter may read the key file (None: nobody): see :func:`exposure`."""
        if self.file is None:
            return None
        st = os.stat(self.file)
        return exposure(st.st_mode, st.st_gid, os.getegid())


def exposure(mode: int, file_gid: int, process_gid: int) -> str | None:
    """Who may read a key file of ``mode`` and group ``file_gid`` besides a process of group
    ``process_gid``, or None. Readable by its own group is no exposure: that is how a
    Kubernetes Secret (``fsGroup``, ``defaultMode: 0440``) or a file ``chgrp``'d to the
    container's group reaches a non-root exporter."""
    if mode & stat.S_IROTH:
        return "others"
    if mode & stat.S_IRGRP and file_gid != process_gid:
        return f"group {file_gid}, not the exporter's ({process_gid})"
    return None


@dataclass(frozen=True, slots=True)
class KeyConfig:
    name: str
    source: KeySource = field(compare=False)
    org_id: str | None = None


def _key_from_yaml(item: object, where: str, env: Mapping[str, str]) -> KeyConfig:
    """One entry of ``keys``; ``where`` is ``keys[i]`` and ``in FILE``, as in errors."""
    at, _, path = where.partition(" in ")
    if not isinstance(item, dict):
        raise ConfigError(where, "must be a mapping")
    if "key" in item or "api_key" in item:
        raise ConfigError(where, "an API key is never written inline: use key_env or key_file")
    unknown = sorted(set(item) - _KEY_FIELDS, key=str)
    if unknown:
        raise ConfigError(f"{at}.{unknown[0]} in {path}", "unknown setting")
    name = item.get("name")
    if not isinstance(name, str) or not _KEY_NAME.match(name):
        raise ConfigError(f"{at}.name in {path}", "required; letters, digits, '_', '.', '-'")
    key_env, file = item.get("key_env"), item.get("key_file")
    if (key_env is None) == (file is None):
        raise ConfigError(where, f"key {name!r} needs exactly one of key_env, key_file")
    org_id = item.get("org_id")
    if org_id is not None and (not isinstance(org_id, str) or not _ORG_ID.match(org_id)):
        raise ConfigError(f"{at}.org_id in {path}", f"not a Neon organization id: {org_id!r}")
    source = KeySource(env=_opt_str(key_env), file=_opt_str(file), environ=env)
    return KeyConfig(name=name, source=source, org_id=org_id)


def _keys_from_yaml(raw: object, env: Mapping[str, str], path: str) -> list[KeyConfig]:
    if not isinstance(raw, list):
        raise ConfigError(f"keys in {path}", "must be a list of {name, key_env | key_file, org_id}")
    return [_key_from_yaml(item, f"keys[{i}] in {path}", env) for i, item in enumerate(raw)]


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _validate_key(key: KeyConfig, setting: str) -> None:
    try:
        key.source.get()
    except (OSError, ValueError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problem = f"key {key.name!r} from {key.source.describe()}: {detail}"
        raise ConfigError(setting, problem) from None


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


def load_keys(
    file: Mapping[str, object], path: str, env: Mapping[str, str], warnings: list[str]
) -> tuple[KeyConfig, ...]:
    """The keys of the YAML file's mapping ``file`` (read from ``path``), else of the
    environment, each readable now; warnings (keys ignored, files too open) are appended."""
    keys = _keys_from_yaml(file["keys"], env, path) if "keys" in file else []
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
        readers = key.source.exposure()
        if readers is not None:
            warnings.append(
                f"key file of {key.name!r} ({key.source.file}) is readable by {readers}: "
                "chmod 600 it, or chgrp it to the exporter's group and chmod 440"
            )
    return tuple(keys)


__all__ = ["KeyConfig", "KeySource", "exposure", "load_keys"]
