"""Recovery from divergence: the local files are moved into a quarantine folder (never
deleted), the replica is rebuilt from the remote, and what only the old copy held is put
back, so that nothing a user wrote is lost and nobody has to resync by hand.

``recover()`` is what the background worker runs when a push or pull raises ``Diverged``
(remote reset or replaced, libSQL frame mismatch, unreadable local file) and what
``manage.py resync`` runs on demand. After the rebuild, every row of the old copy that the
remote lacks is added (``prefer="remote"``: rows both hold keep the remote's version), or
every row of the old copy is written over the remote's (``prefer="local"``). A remote that
was reset to empty is reseeded from the old copy: schema and rows. Changes to rows both
sides hold that the remote never received are replayed by the domain from the write journal
(syncops.journal) after the next pull.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncops import epoch, reconcile, tombstones
from syncops import remote as remote_sql
from syncops.quarantine import UNMERGED, marker, quarantine, read_old_copy, unmerged_folders
from syncops.replica import SyncError
from syncops.state import utc_now

logger = logging.getLogger("syncops")

PREFERENCES = ("remote", "local")
INTERNAL_PREFIXES = ("sqlite_", "turso_", "__turso", "libsql_", "_litestream")
_MAX_PARAMETERS = 500  # per INSERT statement


@dataclass
class RecoveryReport:
    """What a recovery did, for the event log, the status API and ``resync``'s output."""

    reason: str
    prefer: str
    folder: Path | None = None
    finished: list[Path] = field(default_factory=list)  # interrupted recoveries' copies merged
    reseeded: bool = False
    restored: dict[str, int] = field(default_factory=dict)  # rows put back, per table
    duration_ms: float = 0.0
    pushed: bool = False
    push_error: str = ""

    def summary(self) -> str:
        rows = sum(self.restored.values())
        what = (
            "reseeded the empty remote from the local copy"
            if self.reseeded
            else f"rebuilt from the remote, {rows} row(s) only the local copy held put back"
            if self.prefer == "remote"
            else f"rebuilt from the remote, then wrote the local copy's {rows} row(s) over it"
        )
        pushed = "pushed" if self.pushed else f"push pending ({self.push_error})"
        moved = (
            "Finished the interrupted recovery of "
            + ", ".join(str(folder) for folder in self.finished)
            if self.finished
            else f"Local files moved to {self.folder}"
        )
        return f"Recovered in {self.duration_ms:.0f} ms: {self.reason} {moved}; {what}; {pushed}."


def recover(replica: Any, *, reason: str, prefer: str | None = None) -> RecoveryReport:
    """Quarantine the replica's files, rebuild it from the remote, put back what only the old
    copy held, and push. Holds the replica's sync and write locks while it rebuilds; reads
    answer from a read-only copy of the old files until the new ones are ready (or, when the
    rebuild fails, until a retry succeeds).

    When earlier recoveries were interrupted (their folders still say ``UNMERGED``), their
    copies are merged into the current file instead, each with the preference it was started
    with unless ``prefer`` is given; nothing is moved again."""
    from syncops.signals import recovered

    if prefer is not None and prefer not in PREFERENCES:
        raise ValueError(f"prefer must be one of {PREFERENCES}, not {prefer!r}")
    started = time.perf_counter()
    report = RecoveryReport(reason=reason, prefer=prefer or "remote")
    with replica.lock:
        try:
            remote_sql.query(replica.url, replica.token, "SELECT 1")
        except remote_sql.RemoteError as exc:
            raise SyncError(
                f"Recovery waits for the remote {replica.state.remote_url}: {exc}. Nothing was "
                "moved; it is retried with the next sync."
            ) from exc
        with replica.write_lock.first():  # no request writes while the files change under it
            folders = report.finished = unmerged_folders(replica.path)
            if not folders:
                replica.start_read_copy(reason)
                try:
                    replica.close()
                    folders = [quarantine(replica.path, reason=reason, prefer=report.prefer)]
                except BaseException:
                    replica.end_read_copy()  # the files stay where they were: read them again
                    raise
            report.folder = folders[-1]
            for folder in folders:
                # On failure, reads stay on the copy and writes are refused until a retry.
                _merge_folder(replica, folder, prefer, report)
            replica.end_read_copy()
        try:
            replica.push()
            report.pushed = True
        except SyncError as exc:
            report.push_error = str(exc)
    report.duration_ms = (time.perf_counter() - started) * 1000
    replica.state.update(last_recovery=report.summary(), last_recovery_at=utc_now())
    replica.state.update(recoveries=replica.state.recoveries + 1)
    logger.warning("%s", report.summary())
    reconcile.sweep_soon()  # rows the merge dropped leave no tombstone: check every key
    recovered.send(sender=type(replica), replica=replica, report=report)
    return report


def _merge_folder(replica: Any, folder: Path, prefer: str | None, report: RecoveryReport) -> None:
    """Merge one quarantined copy into the current file, then drop its ``UNMERGED`` mark."""

    prefer = prefer or marker(folder).get("prefer", "remote")
    try:
        connection = replica.synced_connection()  # holds what the remote holds now
        reseeded, restored = merge(connection, folder / Path(replica.path).name, prefer=prefer)
        if reseeded or prefer == "local":
            _in_transaction(connection, lambda: epoch.renew(connection))
        replica.synced_connection()  # replica mode: the local file takes the forwarded rows
    except Exception as exc:
        replica.close()
        raise SyncError(
            f"Rebuilding {replica.path} failed: {str(exc).rstrip('.')}. The old copy is safe "
            f"in {folder} (marked {UNMERGED}); it is merged by the next recovery: the "
            "server's next start or sync, or `manage.py resync` once the remote answers. Reads "
            "answer from the old copy meanwhile; writes are refused."
        ) from exc
    (folder / UNMERGED).unlink()
    report.reseeded = report.reseeded or reseeded
    for table, rows in restored.items():
        report.restored[table] = report.restored.get(table, 0) + rows


def user_tables(connection: Any) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows if not row[0].startswith(INTERNAL_PREFIXES)]


def merge(connection: Any, old_path: Path, *, prefer: str) -> tuple[bool, dict[str, int]]:
    """Put the old copy's rows into the rebuilt replica; returns (reseeded, rows per table).

    When the remote holds none of the old copy's tables it was reset: the schema is created
    first (a reseed). A row a tombstone names is never put back (syncops.tombstones). When the
    remote is another copy of the data than the old file synced with (reset, or reseeded by
    another replica), the old copy's tombstones are carried over and enforced too: the deletes
    it had already pushed would otherwise be lost with the old remote."""
    old = read_old_copy(old_path)
    if old is None:
        return False, {}
    try:
        tables = user_tables(old)
        existing = set(user_tables(connection))
        # The tombstone table alone is bookkeeping, not data: such a remote was reset.
        reseeded = bool(tables) and not (set(tables) & (existing - {tombstones.TABLE}))
        other_copy = reseeded or _epoch(old) != _epoch(connection)
        restored: dict[str, int] = {}

        def copy() -> None:
            for kind in ("table", "index"):
                for name, sql in old.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = ? AND sql IS NOT NULL",
                    (kind,),
                ):
                    table_missing = name not in existing if kind == "table" else reseeded
                    if table_missing and not name.startswith(INTERNAL_PREFIXES):
                        connection.execute(sql)
            ordered = sorted(tables, key=lambda table: table != tombstones.TABLE)
            for table in ordered:
                if table == tombstones.TABLE and not other_copy:
                    continue  # the remote has every tombstone this copy pushed
                restored[table] = _copy_rows(connection, old, table, prefer=prefer)
            if other_copy:
                known = set(user_tables(connection))
                tracked = [(t, key) for t, key in _keys(old, tables) if t in known]
                tombstones.enforce(connection, tracked)

        _in_transaction(connection, copy)
    finally:
        old.close()
    return reseeded, {table: count for table, count in restored.items() if count}


def _epoch(connection: Any) -> str | None:
    try:
        return epoch.local(connection)
    except Exception:
        return None


def _keys(old: sqlite3.Connection, tables: list[str]) -> list[tuple[str, str]]:
    """(table, its one primary-key column) for the tables that have one."""
    keys = []
    for table in tables:
        columns = [row[1] for row in old.execute(f'PRAGMA table_info("{table}")') if row[5]]
        if len(columns) == 1 and table != tombstones.TABLE:
            keys.append((table, columns[0]))
    return keys


def _copy_rows(connection: Any, old: sqlite3.Connection, table: str, *, prefer: str) -> int:
    info = list(old.execute(f'PRAGMA table_info("{table}")'))
    columns = [row[1] for row in info]
    if not columns:
        return 0
    keys = [row[1] for row in info if row[5]]
    key_index = columns.index(keys[0]) if len(keys) == 1 else None
    deleted = tombstones.deleted(connection, table) if key_index is not None else set()
    verb = "INSERT OR REPLACE" if prefer == "local" else "INSERT OR IGNORE"
    names = ", ".join(f'"{column}"' for column in columns)
    before = _count(connection, table)
    rows_per_statement = max(1, _MAX_PARAMETERS // len(columns))
    written = 0
    rows = (
        row
        for row in old.execute(f'SELECT {names} FROM "{table}"')
        if key_index is None or str(row[key_index]) not in deleted
    )
    for chunk in _chunks(rows, rows_per_statement):
        values, parameters = [], []
        for row in chunk:
            cells = []
            for value in row:
                if isinstance(value, int) and not -(2**31) <= value < 2**31:
                    cells.append(str(int(value)))  # libSQL binds big integers as REAL
                else:
                    cells.append("?")
                    parameters.append(value)
            values.append(f"({', '.join(cells)})")
        connection.execute(
            f'{verb} INTO "{table}" ({names}) VALUES {", ".join(values)}', tuple(parameters)
        )
        written += len(chunk)
    return written if prefer == "local" else _count(connection, table) - before


def _count(connection: Any, table: str) -> int:
    return int(connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchall()[0][0])


def _chunks(rows: Any, size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _in_transaction(connection: Any, work: Any) -> None:
    connection.execute("BEGIN")
    try:
        work()
    except BaseException:
        connection.rollback()
        raise
    connection.commit()
