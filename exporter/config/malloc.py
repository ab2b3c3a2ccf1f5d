"""Keep the process's memory close to what it uses, under glibc.

glibc serves allocations above its mmap threshold with mmap and returns them to the system when
freed, but it raises that threshold to the size of each large block freed (up to 32 MiB). This
exporter allocates and frees large blocks on every data change (JSON bodies, a rendered
exposition body of tens of MB per format), so after the first one they come
from the heap instead, where fragmentation keeps them resident. Fixing the threshold at 1 MiB
keeps them mmapped (the effect on RSS is measured in bench/README.md).

The garbage collector's full collections walk every tracked object and block the event loop
meanwhile; the modules' own objects (functions, classes, constants) are most of them at small
sizes and never garbage, so they are frozen once at start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
THRESHOLD = 1 << 20


def pin_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold; False where the C library is not glibc (nothing to tune)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        gnu_get_libc_version = libc.gnu_get_libc_version  # glibc only: musl has a no-op mallopt
    except (OSError, AttributeError):
        return False
    del gnu_get_libc_version
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD))


def freeze_startup() -> int:
    """Move every object alive now to the collector's permanent generation, out of every later
    collection; returns how many. Once, at start: what is alive then lives as long as the
    process. Not again later: an object frozen while in use (a request's task) that then dies
    in a reference cycle would never be collected."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
