"""The server process's native heap (glibc malloc), which the database drivers share.

What the soak measured (docs/BENCHMARKS.md, "Soak"): the Python heap stays flat, and the
native heap's memory in use stays flat too, while the memory it has freed but kept grows with
the load, because the drivers' threads free buffers of every size in every arena. Two
measures bound it: fewer arenas (``limit_malloc_arenas``, at the server's start), and the free
pages handed back to the system on the sync worker's clock (``release_free_memory``). Both
do nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import logging
import os

logger = logging.getLogger("syncops")

MALLOC_ARENAS = 2  # glibc malloc arenas for the server process (see limit_malloc_arenas)
_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def _glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (as ``MALLOC_ARENA_MAX`` would) unless that is set; True when
    the cap was applied. The drivers' native threads each grow an arena of their own: from
    minute 1 to 4 of an offline soak RSS grew 22 MiB with the default, 11 MiB with
    ``MALLOC_ARENA_MAX=2`` (one run each, on a shared machine)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _glibc()
    try:
        return bool(libc and libc.mallopt(_M_ARENA_MAX, arenas))
    except AttributeError:
        return False


def release_free_memory() -> bool:
    """Hand the free pages of every malloc arena back to the system (``malloc_trim(0)``);
    True when some were. Takes a few milliseconds and holds the arenas' locks meanwhile."""
    libc = _glibc()
    try:
        return bool(libc and libc.malloc_trim(0))
    except AttributeError:
        return False
