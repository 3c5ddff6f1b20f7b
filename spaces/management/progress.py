"""The progress bar the management commands print: one line per step of long work."""

from __future__ import annotations

from typing import Any, Protocol

BAR_WIDTH = 30


class Writer(Protocol):
    def write(self, msg: str) -> Any: ...


def bar(out: Writer, done: int, total: int, what: str = "") -> None:
    total = max(total, 1)
    filled = BAR_WIDTH * min(done, total) // total
    line = "#" * filled + "-" * (BAR_WIDTH - filled)
    out.write(
        f"[{line}] {done}/{total} {100 * min(done, total) // total}%{' ' + what if what else ''}"
    )
