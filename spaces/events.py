"""The change hook: one event per committed change, sent after commit, never for rollbacks.

Live updates and sync connect receivers to ``change_committed``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.dispatch import Signal

# Sent with ``event``: {"type": "node.created", "space_id": ..., ...}.
change_committed = Signal()


_local = threading.local()


def emit_on_commit(event: dict[str, Any]) -> None:
    """Send ``event`` once the current transaction commits (at once outside a transaction)."""
    held = getattr(_local, "held", None)
    if held is not None:
        held.append(event)
        return
    transaction.on_commit(lambda: change_committed.send(sender=None, event=event))


@contextmanager
def coalesced(summary: dict[str, Any]) -> Iterator[None]:
    """Changes made inside send no event of their own; ``summary`` (with ``data.changes``,
    how many) is sent once instead, on commit, when there were any: a bulk change (a
    restore) makes open pages reload once rather than relay a thousand events."""
    outer = getattr(_local, "held", None)
    held: list[dict[str, Any]] = []
    _local.held = held
    try:
        yield
    finally:
        _local.held = outer
    if held:
        data = {**summary.get("data", {}), "changes": len(held)}
        emit_on_commit({**summary, "data": data})
