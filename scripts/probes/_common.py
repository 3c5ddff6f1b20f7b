"""Shared bits for the driver probes: run from the project root with .venv/bin/python."""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("RUST_LOG", "error")  # libsql logs every replication handshake
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from syncops.devservers import (  # noqa: E402
    Server,
    start_sqld,
    start_turso_sync_server,
)

__all__ = [
    "Server",
    "start_sqld",
    "start_turso_sync_server",
    "median_ms",
    "run_bounded",
    "describe",
]


def median_ms(fn: Callable[[], Any], n: int = 200) -> tuple[float, float]:
    """Median and p95 of ``fn()`` in milliseconds over ``n`` runs."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def describe(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"


def run_bounded(fn: Callable[[], Any], wait: float) -> tuple[str, float, threading.Thread]:
    """Run ``fn`` in a daemon thread; after ``wait`` s say: returned, raised ..., or blocked."""
    result: dict[str, str] = {}

    def target() -> None:
        try:
            fn()
            result["r"] = "returned"
        except BaseException as exc:  # noqa: BLE001
            result["r"] = "raised " + describe(exc)

    t0 = time.perf_counter()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(wait)
    elapsed = time.perf_counter() - t0
    return result.get("r", f"still blocked after {wait:.1f} s"), elapsed, thread
