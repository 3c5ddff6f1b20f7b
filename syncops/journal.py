"""The write journal: every row a local transaction changed, kept outside the replica until
the remote is known to hold it.

The Turso sync engine can drop a committed local transaction (a push the remote refuses for a
UNIQUE key) or overwrite it (last push wins) without a trace. So before every push and pull
(and before a recovery moves the files) ``capture()`` copies the engine's own change log
(``turso_cdc``: one row per inserted, updated or deleted row, with its before and after image,
written in the same transaction as the change) into the local ``syncops`` file, which is never
replicated. Every write to every replicated table passes there; nothing in the domain has to
remember to journal. Captured entries are *committed*; a push that carried them makes them
*pushed*; after the next pull each is reconciled by its table's policy (syncops.policies) and
deleted once the policy decided what became of it.

The engine rewrites its change log when a pull applies remote changes (the numbering starts
again), so the capture cursor is moved to the log's end right after each apply, under the
write lock, before any local write can add to it.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from collections.abc import Iterable
from typing import Any

from django.db.models import Count
from ulid import ULID

from syncops import policies
from syncops.localdb import prepare_local_database
from syncops.models import JournalCursor, JournalEntry
from syncops.router import LOCAL_DB

logger = logging.getLogger("syncops")
State = JournalEntry.State
CHANGE_LOG = "turso_cdc"
OPERATIONS = {1: "insert", 0: "update", -1: "delete"}
# Tables of the engines and of syncops itself: never journaled.
INTERNAL_PREFIXES = ("sqlite_", "turso_", "__turso", "libsql_", "_litestream")
_ready = False
_ready_lock = threading.Lock()
_capture_lock = threading.Lock()  # one capture at a time: the cursor is read, then moved


def _prepare() -> None:
    """Create the local bookkeeping tables once per process (before the first use)."""
    global _ready
    with _ready_lock:
        if not _ready:
            prepare_local_database()
            _ready = True


# --- reading the engine's change log --------------------------------------------------------


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian base-128 varint at ``at``: (value, next offset)."""
    value = 0
    for index in range(9):
        byte = data[at + index]
        if index == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + index + 1
    raise ValueError("bad varint")  # unreachable


_INT_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def decode_record(data: bytes) -> list[Any]:
    """The values of a row in SQLite's record format (the change log's before/after images)."""
    header_size, at = _varint(data, 0)
    types = []
    while at < header_size:
        serial_type, at = _varint(data, at)
        types.append(serial_type)
    values: list[Any] = []
    body = header_size
    for serial_type in types:
        if serial_type == 0:
            values.append(None)
        elif serial_type in _INT_SIZES:
            size = _INT_SIZES[serial_type]
            values.append(int.from_bytes(data[body : body + size], "big", signed=True))
            body += size
        elif serial_type == 7:
            values.append(struct.unpack(">d", data[body : body + 8])[0])
            body += 8
        elif serial_type in (8, 9):
            values.append(serial_type - 8)
        elif serial_type >= 12:
            size = (serial_type - 12) // 2
            chunk = bytes(data[body : body + size])
            values.append(chunk.decode("utf-8") if serial_type % 2 else chunk)
            body += size
        else:
            raise ValueError(f"unknown serial type {serial_type} in a change-log record")
    return values


def _columns(connection: Any, table: str, cache: dict[str, tuple[list[str], str | None]]) -> Any:
    """A table's column names and primary-key column (None: the rowid)."""
    if table not in cache:
        info = connection.execute(f'PRAGMA table_info("{table}")').fetchall()
        names = [row[1] for row in info]
        keys = [row[1] for row in info if row[5]]
        cache[table] = (names, keys[0] if len(keys) == 1 else None)
    return cache[table]


def _image(names: list[str], record: bytes | None) -> dict[str, Any] | None:
    if record is None:
        return None
    values = decode_record(record)
    image = dict(zip(names, values, strict=False))
    for name in names[len(values) :]:
        image[name] = None  # a column added after the row was written
    return {
        name: value.hex() if isinstance(value, bytes) else value for name, value in image.items()
    }


def _cursor(path: str) -> JournalCursor:
    cursor, _ = JournalCursor.objects.using(LOCAL_DB).get_or_create(path=path)
    return cursor


def _log_end(connection: Any) -> int:
    try:
        rows = connection.execute(f"SELECT MAX(change_id) FROM {CHANGE_LOG}").fetchall()
    except Exception as exc:
        if "no such table" in str(exc):
            return 0
        raise
    return int(rows[0][0] or 0)


def capture(connection: Any, *, path: str, journaled: Any = None) -> int:
    """Copy the change-log rows written since the last capture into the journal; returns how
    many entries were added. ``connection`` is any DB-API connection to the replica file (the
    sync engine's, or sqlite3 on a quarantined copy); ``journaled(table)`` says which tables
    are journaled (syncops.policies); the caller holds the replica's sync lock."""
    _prepare()
    with _capture_lock:
        return _capture(connection, path, journaled or policies.journaled)


def _capture(connection: Any, path: str, journaled: Any) -> int:
    cursor = _cursor(path)
    try:
        rows = connection.execute(
            f"SELECT change_id, change_txn_id, change_type, table_name, id, before, after "
            f"FROM {CHANGE_LOG} WHERE change_id > ? ORDER BY change_id",
            (cursor.change_id,),
        ).fetchall()
    except Exception as exc:
        if "no such table" in str(exc):
            return 0  # no local change was ever made in this file
        raise
    if not rows:
        return 0
    cache: dict[str, tuple[list[str], str | None]] = {}
    entries = []
    for _change_id, txn, change_type, table, rowid, before, after in rows:
        operation = OPERATIONS.get(change_type)
        if operation is None or not table or table.startswith(INTERNAL_PREFIXES):
            continue
        if not journaled(table):
            continue
        names, key_column = _columns(connection, table, cache)
        before_image, after_image = _image(names, before), _image(names, after)
        image = after_image or before_image or {}
        row = image.get(key_column) if key_column else rowid
        entries.append(
            JournalEntry(
                key=str(ULID()),
                state=State.COMMITTED,
                pid=os.getpid(),
                payload={
                    "table": table,
                    "op": operation,
                    "row": row,
                    "txn": f"{path}:{cursor.change_id}:{txn}",
                    "before": before_image,
                    "after": after_image,
                },
            )
        )
    JournalEntry.objects.using(LOCAL_DB).bulk_create(entries, batch_size=200)
    cursor.change_id = int(rows[-1][0])
    cursor.save(update_fields=["change_id"])
    return len(entries)


def skip_to_end(connection: Any, *, path: str) -> None:
    """After a pull applied remote changes (which rewrote the change log), continue from the
    log's current end. The caller holds the write lock: no local write is in between."""
    _prepare()
    with _capture_lock:
        cursor = _cursor(path)
        cursor.change_id = _log_end(connection)
        cursor.save(update_fields=["change_id"])


def restart(path: str) -> None:
    """The replica file was replaced (quarantined and rebuilt): its change log starts anew."""
    _prepare()
    JournalCursor.objects.using(LOCAL_DB).filter(path=path).delete()


# --- the journal's states ----------------------------------------------------------------------


def committed_ids() -> list[int]:
    """Entries a push starting now carries (after ``capture()``)."""
    _prepare()
    return list(
        JournalEntry.objects.using(LOCAL_DB)
        .filter(state=State.COMMITTED)
        .values_list("id", flat=True)
    )


def mark_pushed(ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        JournalEntry.objects.using(LOCAL_DB).filter(id__in=ids, state=State.COMMITTED).update(
            state=State.PUSHED
        )


def pushed() -> list[JournalEntry]:
    """Entries the remote has had a chance to take, oldest first: ready to reconcile."""
    _prepare()
    return list(JournalEntry.objects.using(LOCAL_DB).filter(state=State.PUSHED))


def resolve(keys: Iterable[str]) -> None:
    keys = list(keys)
    for start in range(0, len(keys), 500):
        JournalEntry.objects.using(LOCAL_DB).filter(key__in=keys[start : start + 500]).delete()


def backlog() -> dict[str, int]:
    """Entries by state (the status page and ``sync_status``)."""
    _prepare()
    counts = {state: 0 for state in State.values}
    by_state = JournalEntry.objects.using(LOCAL_DB).values("state").annotate(count=Count("id"))
    counts.update({row["state"]: row["count"] for row in by_state.order_by()})
    return counts
