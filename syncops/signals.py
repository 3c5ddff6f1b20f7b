"""What syncops tells the rest of the project, without importing it.

- ``pulled``: a pull of the default replica succeeded (sent from the thread that pulled);
  the domain reconciles the write journal (syncops.journal) here.
- ``recovered``: the replica was rebuilt (``report``: syncops.recovery.RecoveryReport).
"""

from __future__ import annotations

from django.dispatch import Signal

pulled = Signal()
recovered = Signal()
