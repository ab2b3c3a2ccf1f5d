"""The glibc mmap threshold is pinned where glibc is the C library (it is on these machines)."""

from __future__ import annotations

import gc
import platform

from exporter.config.malloc import freeze_startup, pin_mmap_threshold


def test_pins_the_threshold_under_glibc() -> None:
    """mallopt accepts the threshold under glibc; elsewhere the call is a harmless False."""
    assert pin_mmap_threshold() is (platform.libc_ver()[0] == "glibc")


def test_freezes_what_is_alive_at_start() -> None:
    """Every object alive is moved out of the collections (then back: this is a test run)."""
    try:
        assert freeze_startup() == gc.get_freeze_count() > 0
        assert len(gc.get_objects()) < gc.get_freeze_count()
    finally:
        gc.unfreeze()
