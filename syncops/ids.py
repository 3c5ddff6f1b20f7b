"""Integer primary keys that no two replicas assign alike.

Django's own tables (users, groups, permissions, the admin log, migrations) and any library's
use auto-increment integers: two offline replicas each hand out the next one, and after sync
one row overwrites the other (a share meant for one user went to another). syncops.backend
gives every such row an id from here instead: 41 bits of milliseconds since 2020 and 22 random
bits, increasing within a process (so ordering by id still follows creation), and about one
chance in four million that two replicas writing in the same millisecond pick the same one.
"""

from __future__ import annotations

import secrets
import threading
import time

EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
RANDOM_BITS = 22
MAX_ID = 2**63 - 1
_last = 0
_lock = threading.Lock()


def new_integer_id() -> int:
    """A positive 63-bit id, larger than any this process made before."""
    global _last
    candidate = ((int(time.time() * 1000) - EPOCH_MS) << RANDOM_BITS) | secrets.randbits(
        RANDOM_BITS
    )
    with _lock:
        # Within a millisecond (or after the clock stepped back) stay increasing; the random
        # low bits still differ between replicas.
        _last = candidate if candidate > _last else _last + 1 + secrets.randbits(8)
        if _last > MAX_ID:
            raise OverflowError("integer ids are exhausted (the clock is past 2089)")
        return _last
