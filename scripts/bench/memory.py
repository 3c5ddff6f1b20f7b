"""Where Python memory grows in a soaked instance: tracemalloc snapshots, each compared with
the first, written to a file every minute (the soak's ``--tracemalloc``). Memory held by the
drivers' native code does not show here: RSS growing while this stays flat points there."""

from __future__ import annotations

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


def watch_allocations(target: Path) -> None:
    tracemalloc.start(FRAMES)

    def run() -> None:
        first = tracemalloc.take_snapshot().filter_traces(_IGNORED)
        started = time.monotonic()
        while True:
            time.sleep(INTERVAL)
            snapshot = tracemalloc.take_snapshot().filter_traces(_IGNORED)
            current, peak = tracemalloc.get_traced_memory()
            lines = [
                f"--- {(time.monotonic() - started) / 60:.1f} min: traced {current / 2**20:.1f} "
                f"MiB (peak {peak / 2**20:.1f}); largest growth since the first snapshot:"
            ]
            for stat in snapshot.compare_to(first, "lineno")[:TOP]:
                frame = stat.traceback[0]
                lines.append(
                    f"{stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d} blocks  "
                    f"{frame.filename}:{frame.lineno}"
                )
            with open(target, "a") as out:
                out.write("\n".join(lines) + "\n")

    threading.Thread(target=run, name="bench-tracemalloc", daemon=True).start()
