"""What syncops tells the rest of the project, without importing it.

- ``pulled``: a pull of the default replica succeeded (sent from the thread that pulled);
  the domain reconciles the write journal (syncops.journal) here.
- ``pushing``: the background worker has writes to push and pushes them in a moment (sent
  from its thread, before each push): other processes of the same remote know that they
  will find more there soon (spaces.fleet).
- ``pushed``: the background worker's push of the replica succeeded (``replica``; sent from
  the worker's thread): other processes of the same remote may pull now (spaces.fleet).
- ``recovered``: the replica was rebuilt (``report``: syncops.recovery.RecoveryReport).
"""

from __future__ import annotations

from django.dispatch import Signal

pulled = Signal()
pushing = Signal()
pushed = Signal()
recovered = Signal()
