"""The write journal: local writes kept outside the replica until the remote holds them.

``track()`` is called inside the transaction of every journaled write (before it commits);
the entry becomes ``committed`` when the transaction commits, ``pushed`` after a push that
included it succeeded, and is deleted by the domain (``resolve()``) once a pull showed what
became of it. Only replicas that can lose a committed write journal (offline mode); in the
other modes ``track()`` does nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Any

from django.db import connections, transaction

from syncops.models import JournalEntry
from syncops.replica import replica_for
from syncops.router import LOCAL_DB

State = JournalEntry.State
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
    to ``table`` (how a restarted process tells whether it committed). A no-op where a
    committed write cannot be lost."""
    if not enabled(using):
        return
    _prepare()
    JournalEntry.objects.create(
        key=key, payload={**payload, "table": table}, state=State.PENDING, pid=os.getpid()
    )
    transaction.on_commit(
        lambda: JournalEntry.objects.filter(key=key, state=State.PENDING).update(
            state=State.COMMITTED
        ),
        using=using,
    )


def settle_pending(using: str = "default") -> int:
    """Decide entries left pending by a process that died between its write and the commit
    mark: the write committed when its row (``payload["table"]``, id ``key``) exists. Run
    before the first sync of a process. Returns how many were dropped (never committed)."""
    _prepare()
    connection = connections[using]
    dropped = 0
    for entry in JournalEntry.objects.filter(state=State.PENDING).exclude(pid=os.getpid()):
        table = connection.ops.quote_name(str(entry.payload.get("table", "")))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s", [entry.key])
            committed = cursor.fetchone() is not None
        if committed:
            JournalEntry.objects.filter(pk=entry.pk).update(state=State.COMMITTED)
        else:
            entry.delete()
            dropped += 1
    return dropped


def committed_ids() -> list[int]:
    """Entries a push starting now will carry (taken before the push)."""
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


def counts() -> dict[str, int]:
    result = {state: 0 for state in State.values}
    for state in JournalEntry.objects.values_list("state", flat=True):
        result[state] += 1
    return result
