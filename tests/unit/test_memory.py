"""The glibc mmap threshold is pinned where glibc is the C library (it is on these machines)."""

from __future__ import annotations

import platform

from exporter.config.malloc import pin_mmap_threshold


def test_pins_the_threshold_under_glibc() -> None:
    """mallopt accepts the threshold under glibc; elsewhere the call is a harmless False."""
    assert pin_mmap_threshold() is (platform.libc_ver()[0] == "glibc")
