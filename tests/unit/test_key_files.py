"""Key file permissions: a warning only where someone else can read the key, and none for the
shipped recipes (a Secret with fsGroup and 0440, a file chgrp'd to the image's group)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from exporter.cli import parse
from exporter.config.keys import exposure

ROOT = Path(__file__).resolve().parents[2]


def _warnings(tmp_path: Path, mode: int, gid: int | None = None) -> list[str]:
    key = tmp_path / "neon-api-key"
    key.write_text("secret-value-123\n")
    key.chmod(mode)
    if gid is not None:
        os.chown(key, -1, gid)
    _, config = parse(["check"], {"NEON_API_KEY_FILE": str(key)})
    return [w for w in config.warnings if "readable" in w]


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o640, 0o440])
def test_key_file_of_the_exporters_own_group_is_not_warned_about(tmp_path: Path, mode: int) -> None:
    """0600, 0400, and 0640 or 0440 with the process's own group start without a warning."""
    assert _warnings(tmp_path, mode, os.getegid()) == []


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o444])
def test_key_file_readable_by_others_is_warned_about(tmp_path: Path, mode: int) -> None:
    """A key file others may read gets one warning naming the key, the file and who reads it."""
    (warning,) = _warnings(tmp_path, mode)
    assert "'default'" in warning
    assert str(tmp_path / "neon-api-key") in warning
    assert "readable by others" in warning
    assert "secret-value-123" not in warning


def test_key_file_readable_by_a_foreign_group_is_warned_about(tmp_path: Path) -> None:
    """0640 with a group that is not the process's is an exposure: warned, naming the group."""
    other = next(g for g in (65534, 65533, 12345) if g != os.getegid())
    if os.geteuid() != 0:  # only root can give a file a group it is not in
        assert exposure(0o100640, other, os.getegid()) is not None
        return
    (warning,) = _warnings(tmp_path, 0o640, other)
    assert f"group {other}, not the exporter's ({os.getegid()})" in warning


@pytest.mark.parametrize(
    ("mode", "file_gid", "process_gid", "readers"),
    [
        (0o100600, 5, 7, None),
        (0o100660, 7, 7, None),
        (0o100640, 5, 7, "group 5, not the exporter's (7)"),
        (0o100604, 7, 7, "others"),
        (0o100620, 5, 7, None),  # writable is not readable: no exposure of the key
    ],
)
def test_exposure(mode: int, file_gid: int, process_gid: int, readers: str | None) -> None:
    """Who may read the key besides the exporter, from the mode and the two groups."""
    assert exposure(mode, file_gid, process_gid) == readers


def test_kubernetes_secret_mount_is_no_exposure() -> None:
    """The Deployment's Secret (defaultMode, group fsGroup) is read by its own group only."""
    deployment = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    (keys,) = [v for v in pod["volumes"] if "secret" in v]
    mode = keys["secret"]["defaultMode"]
    context = pod["securityContext"]
    assert exposure(mode, context["fsGroup"], context["runAsGroup"]) is None


def test_container_recipe_is_no_exposure() -> None:
    """deployment.md's `chgrp GID key && chmod MODE key` gives the image's own group."""
    doc = (ROOT / "docs" / "deployment.md").read_text()
    match = re.search(r"`chgrp (\d+) key && chmod (0\d+) key`", doc)
    assert match, "deployment.md lost its container key-file recipe"
    image_gid = re.search(r"^USER \d+:(\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert image_gid
    assert exposure(int(match.group(2), 8), int(match.group(1)), int(image_gid.group(1))) is None
