"""What syncops tells the rest of the project, without importing it.

- ``pulled``: a pull of the default replica succeeded (sent from the thread that pulled);
  the domain reconciles the write journal (syncops.journal) here. ``in_worker`` says whether
  the background worker pulled: then receivers defer their work instead of holding up its
  next pull.
- ``pushing``: the background worker has writes to push and pushes them in a moment (sent
  from its thread, before each push): other processes of the same remote know that they
  will find more there soon (spaces.fleet).
- ``pushed``: the background worker's push of the replica succeeded (``replica``; sent from
  the worker's thread): other processes of the same remote may pull now (spaces.fleet).
- ``recovered``: the replica was rebuilt (``report``: syncops.recovery.RecoveryReport).
"""

from __future__ import annotations

from contextvars import ContextVar

from django.dispatch import Signal

in_worker: ContextVar[bool] = ContextVar("in_worker", default=False)  # set on its thread

pulled = Signal()
pushing = Signal()
pushed = Signal()
recovered = Signal()
