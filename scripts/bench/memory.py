"""Where memory grows in a soaked instance, written to a file every minute: glibc's
``mallinfo2`` (the native heap: what is in use, and what is free but kept), and with the
soak's ``--tracemalloc`` tracemalloc snapshots, each compared with the first (Python's heap). RSS
growing while the Python heap stays flat points at the drivers' native code; native memory
"free but kept" growing points at fragmentation rather than at a leak."""

from __future__ import annotations

import ctypes
import threading
import time
import tracemalloc
from pathlib import Path

INTERVAL = 60.0
TOP = 15
# One frame per allocation: enough to name the line, and cheap enough to keep the load.
FRAMES = 1
_IGNORED = [
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
]


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
            "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def native_heap() -> str:
    """glibc's view of the native heap, or why there is none."""
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError) as exc:
        return f"native heap: unknown ({exc})"
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    mib = 2**20
    return (
        f"native heap: in use {info.uordblks / mib:.1f} MiB, free but kept "
        f"{info.fordblks / mib:.1f} MiB, mmapped {info.hblkhd / mib:.1f} MiB"
    )


def watch_memory(target: Path, *, python: bool) -> None:
    """Every minute, append the native heap (and with ``python``, tracemalloc's growth)."""
    if python:
        tracemalloc.start(FRAMES)

    def run() -> None:
        first = tracemalloc.take_snapshot().filter_traces(_IGNORED) if python else None
        started = time.monotonic()
        while True:
            time.sleep(INTERVAL)
            lines = [f"--- {(time.monotonic() - started) / 60:.1f} min: {native_heap()}"]
            if first is not None:
                snapshot = tracemalloc.take_snapshot().filter_traces(_IGNORED)
                current, peak = tracemalloc.get_traced_memory()
                lines.append(
                    f"Python heap traced {current / 2**20:.1f} MiB (peak {peak / 2**20:.1f}); "
                    "largest growth since the first snapshot:"
                )
                for stat in snapshot.compare_to(first, "lineno")[:TOP]:
                    frame = stat.traceback[0]
                    lines.append(
                        f"{stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d} blocks  "
                        f"{frame.filename}:{frame.lineno}"
                    )
            with open(target, "a") as out:
                out.write("\n".join(lines) + "\n")

    threading.Thread(target=run, name="bench-memory", daemon=True).start()
