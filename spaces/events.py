"""The change hook: one event per committed change, sent after commit, never for rollbacks.

Live updates and sync connect receivers to ``change_committed``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# Sent with ``event``: {"type": "node.created", "space_id": ..., ...}.
change_committed = Signal()


def emit_on_commit(event: dict[str, Any]) -> None:
    """Send ``event`` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: change_committed.send(sender=None, event=event))
