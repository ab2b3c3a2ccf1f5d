"""The lock files stay in step with pyproject.toml.

pyproject.toml keeps ranges for people who install the package; the image installs
requirements.lock and the development venv requirements-dev.lock, exactly and with hashes. When
a range in pyproject.toml moves past a locked version, or a dependency is added, these fail
until `make lock` is run.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PYPROJECT["dependencies"]]
TEST = [Requirement(r) for r in PYPROJECT["optional-dependencies"]["test"]]
# What CI's and the image's Python (3.11 on Linux) makes of environment markers.
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?: ;.*)? \\$")


def pins(name: str) -> dict[str, Version]:
    """name -> pinned version of a lock file; every pin must carry at least one hash."""
    lines = (ROOT / name).read_text().splitlines()
    found: dict[str, Version] = {}
    for i, line in enumerate(lines):
        m = PIN.match(line)
        if m is None:
            continue
        assert lines[i + 1].strip().startswith("--hash=sha256:"), f"{name}: {line} has no hash"
        found[canonicalize_name(m[1])] = Version(m[2])
    assert found, f"{name} pins nothing"
    return found


def unsatisfied(requirements: list[Requirement], locked: dict[str, Version]) -> list[str]:
    missing = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate(TARGET):
            continue
        version = locked.get(canonicalize_name(req.name))
        if version is None or not req.specifier.contains(version, prereleases=True):
            missing.append(f"{req} (locked: {version})")
    return missing


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [("requirements.lock", RUNTIME), ("requirements-dev.lock", RUNTIME + TEST)],
)
def test_lock_satisfies_pyproject(lock: str, requirements: list[Requirement]) -> None:
    """Every dependency of pyproject.toml is pinned, with hashes, within its range."""
    assert unsatisfied(requirements, pins(lock)) == [], "run `make lock`"


def test_image_and_development_pin_the_same_versions() -> None:
    """The image runs the versions the tests ran against."""
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {n: v for n, v in dev.items() if n in runtime} == runtime, "run `make lock`"


def test_the_package_itself_is_not_locked() -> None:
    """It is installed from the source tree (`pip install --no-deps -e .`), never from PyPI."""
    assert "neon-exporter" not in pins("requirements-dev.lock")


def test_a_moved_range_is_caught() -> None:
    """The check can fail: a range the locked version does not meet is reported."""
    locked = pins("requirements.lock")
    aiohttp = locked["aiohttp"]
    moved = [Requirement(f"aiohttp>{aiohttp}"), Requirement("not-a-locked-package>=1")]
    assert len(unsatisfied(moved, locked)) == 2
