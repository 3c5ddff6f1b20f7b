"""The write journal: local writes kept outside the replica until the remote holds them.

``track()`` is called inside the transaction of every journaled write, before it commits,
and costs one small insert into the local ``syncops`` file. The entry is *pending* until a
sync finds its row committed in the replica (``promote()``, run at the start of every push
and pull, before either can lose the row), *committed* until a push that carried it
succeeds, then *pushed*; the domain deletes it (``resolve()``) once a pull showed what became
of it. A pending entry whose row never appears was rolled back and is dropped. Only replicas
that can lose a committed write journal (offline mode); elsewhere ``track()`` does nothing.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import connections
from django.utils import timezone

from syncops.models import JournalEntry
from syncops.replica import replica_for
from syncops.router import LOCAL_DB

State = JournalEntry.State
ROLLED_BACK_AFTER = timedelta(minutes=1)  # no transaction holds the write lock this long
_ready = False
_ready_lock = threading.Lock()


def _prepare() -> None:
    """Create the local bookkeeping tables once per process (before the first use)."""
    global _ready
    with _ready_lock:
        if not _ready:
            from syncops.runtime import prepare_local_database

            prepare_local_database()
            _ready = True


def enabled(using: str = "default") -> bool:
    return replica_for(connections[using].settings_dict).journals


def track(key: str, table: str, payload: dict[str, Any], *, using: str = "default") -> None:
    """Journal a write whose transaction on ``using`` is open now and that adds the row ``key``
    to ``table`` (how a sync tells that it committed). A no-op where a committed write cannot
    be lost."""
    if not enabled(using):
        return
    _prepare()
    JournalEntry.objects.create(
        key=key, payload={**payload, "table": table}, state=State.PENDING, pid=os.getpid()
    )


def promote(connection: Any) -> None:
    """Mark pending entries whose row is committed in the replica (read on ``connection``, a
    driver connection that sees committed data only); drop those rolled back long ago."""
    _prepare()
    pending = list(JournalEntry.objects.filter(state=State.PENDING))
    if not pending:
        return
    keys_by_table: dict[str, list[str]] = defaultdict(list)
    for entry in pending:
        keys_by_table[str(entry.payload.get("table", ""))].append(entry.key)
    found: set[str] = set()
    for table, keys in keys_by_table.items():
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = connection.execute(
                f'SELECT id FROM "{table}" WHERE id IN ({marks})', tuple(chunk)
            ).fetchall()
            found.update(row[0] for row in rows)
    committed = [entry.pk for entry in pending if entry.key in found]
    JournalEntry.objects.filter(pk__in=committed).update(state=State.COMMITTED)
    cutoff = timezone.now() - ROLLED_BACK_AFTER
    rolled_back = [e.pk for e in pending if e.key not in found and e.created_at < cutoff]
    JournalEntry.objects.filter(pk__in=rolled_back, state=State.PENDING).delete()


def committed_ids() -> list[int]:
    """Entries a push starting now carries (after ``promote()``)."""
    _prepare()
    return list(JournalEntry.objects.filter(state=State.COMMITTED).values_list("id", flat=True))


def mark_pushed(ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        JournalEntry.objects.filter(id__in=ids, state=State.COMMITTED).update(state=State.PUSHED)


def pushed() -> list[JournalEntry]:
    """Entries the remote has had a chance to take, oldest first: ready to reconcile."""
    _prepare()
    return list(JournalEntry.objects.using(LOCAL_DB).filter(state=State.PUSHED))


def resolve(key: str) -> None:
    JournalEntry.objects.filter(key=key).delete()
