"""Tombstones: a replicated record of every deleted row, so that a merge never brings back a
row that a replica deleted.

A recovery puts back the rows only the old copy held (syncops.recovery). Without a trace of
deletes, a row that another replica deleted, or that this one deleted before the remote was
reset, would return with that merge. So every replicated table gets two triggers: a delete
writes ``(table, row)`` into ``syncops_tombstone`` in the same statement, an insert of the same
key (a restore) removes it. The engine writes them, for every path that deletes (services,
admin, cascades, raw SQL): nothing in the domain knows.

The Turso sync engine does not replicate triggers and drops the file's own ones when a pull
rebases it. Offline replicas therefore keep them as TEMP triggers of each connection that
writes (created before its first write, and again when the file gains a table): they live
outside the file, survive every pull, and the rows they write replicate like any other
(``scripts/probes/turso_triggers.py``). Re-creating file triggers after every pull cost ~30 ms
under the write lock.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

TABLE = "syncops_tombstone"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (tbl TEXT NOT NULL, row TEXT NOT NULL, "
    "deleted_at TEXT NOT NULL, PRIMARY KEY (tbl, row))"
)
NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def triggers(tables: Iterable[tuple[str, str]], *, temp: bool = False) -> list[str]:
    """The DDL of the triggers of ``tables`` (name, primary-key column); with ``temp``, TEMP
    triggers of the connection that runs it (under names of their own)."""
    create, prefix = ("CREATE TEMP TRIGGER", f"{TABLE}_temp") if temp else ("CREATE TRIGGER", TABLE)
    ddl = []
    for table, key in tables:
        ddl.append(
            f'{create} IF NOT EXISTS "{prefix}_{table}_del" AFTER DELETE ON "{table}" '
            f"BEGIN INSERT OR IGNORE INTO {TABLE} (tbl, row, deleted_at) "
            f"VALUES ('{table}', OLD.\"{key}\", {NOW}); END"
        )
        ddl.append(
            f'{create} IF NOT EXISTS "{prefix}_{table}_ins" AFTER INSERT ON "{table}" '
            f"BEGIN DELETE FROM {TABLE} WHERE tbl = '{table}' AND row = NEW.\"{key}\"; END"
        )
    return ddl


@functools.cache
def tracked_tables() -> list[tuple[str, str]]:
    """The replicated tables of the installed apps with a one-column primary key."""
    from django.apps import apps

    from syncops.router import LOCAL_APPS

    tables: dict[str, str] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label not in LOCAL_APPS and meta.managed and meta.pk is not None:
            tables[meta.db_table] = str(meta.pk.column)
    return sorted(tables.items())


def ensure(execute: Any, existing: set[str] | None = None, *, triggers_too: bool = True) -> None:
    """Create the tombstone table, and unless not ``triggers_too`` its file triggers, with
    ``execute(sql)``; only for tables in ``existing`` when given (a file whose schema is not
    complete yet)."""
    tables = [(t, key) for t, key in tracked_tables() if existing is None or t in existing]
    if not tables:
        return  # an empty file (before migrate, or a remote that was reset): nothing to track
    for sql in [CREATE, *(triggers(tables) if triggers_too else [])]:
        execute(sql)


def guarded(table_names: Iterable[str]) -> frozenset[tuple[str, str]]:
    """The tracked tables among ``table_names`` (a file's tables) that TEMP triggers can
    guard: none before the tombstone table itself exists."""
    from django.apps import apps

    names = set(table_names)
    if TABLE not in names or not apps.ready:
        return frozenset()
    return frozenset((t, key) for t, key in tracked_tables() if t in names)


def deleted(connection: Any, table: str) -> set[str]:
    """Keys of ``table``'s deleted rows, read on a raw driver connection (text, as stored)."""
    try:
        rows = connection.execute(f"SELECT row FROM {TABLE} WHERE tbl = ?", (table,)).fetchall()
    except Exception as exc:
        if "no such table" in str(exc):
            return set()
        raise
    return {str(row[0]) for row in rows}


def was_deleted(table: str, row: Any) -> bool:
    """Whether a tombstone names ``row`` of ``table`` (on the default database)."""
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {TABLE} WHERE tbl = %s AND row = %s", [table, str(row)])
        return cursor.fetchone() is not None


def prune(days: float) -> int:
    """Delete tombstones older than ``days`` (on the default database); returns how many. The
    deletes replicate like any write, so every replica forgets them too."""
    from datetime import UTC, datetime, timedelta

    from django.db import connections, transaction

    cutoff = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with transaction.atomic(), connections["default"].cursor() as cursor:
        try:
            cursor.execute(f"DELETE FROM {TABLE} WHERE deleted_at < %s", [cutoff])
        except Exception as exc:
            if "no such table" in str(exc):
                return 0
            raise
        return max(cursor.rowcount, 0)


def enforce(connection: Any, tables: Iterable[tuple[str, str]]) -> int:
    """Delete every row a tombstone names (after a merge from another copy); returns how many."""
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
    ).fetchall()
    if not found:
        return 0  # a copy that never recorded a delete
    removed = 0
    for table, key in tables:
        cursor = connection.execute(
            f'DELETE FROM "{table}" WHERE CAST("{key}" AS TEXT) IN '
            f"(SELECT row FROM {TABLE} WHERE tbl = ?)",
            (table,),
        )
        removed += max(cursor.rowcount, 0)
    return removed
