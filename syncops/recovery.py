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
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncops import epoch
from syncops import remote as remote_sql
from syncops.state import utc_now

logger = logging.getLogger("syncops")

# Files a replica keeps beside its database: SQLite's WAL and shared memory, libSQL's -info,
# the Turso sync engine's -changes, -info and -wal-revert, and the epoch last seen remotely.
REPLICA_SUFFIXES = (
    "",
    "-wal",
    "-shm",
    "-info",
    "-changes",
    "-wal-revert",
    "-client_wal_index",
    "-epoch",
)
PREFERENCES = ("remote", "local")
_INTERNAL_PREFIXES = ("sqlite_", "turso_", "__turso", "libsql_", "_litestream")
_MAX_PARAMETERS = 500  # per INSERT statement


def replica_files(database_path: str) -> list[Path]:
    base = Path(database_path)
    return [
        Path(f"{base}{suffix}") for suffix in REPLICA_SUFFIXES if Path(f"{base}{suffix}").exists()
    ]


def quarantine_dir(database_path: str) -> Path:
    """A new folder beside the database (``var/quarantine/<time>/`` by default)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return Path(database_path).parent / "quarantine" / stamp


def quarantine(database_path: str, *, reason: str) -> Path:
    """Move every local file of the replica into a new timestamped folder; return it."""
    target = quarantine_dir(database_path)
    target.mkdir(parents=True, exist_ok=False)
    for path in replica_files(database_path):
        shutil.move(str(path), target / path.name)
    (target / "REASON.txt").write_text(f"{reason}\nfrom {database_path}\n")
    return target


@dataclass
class RecoveryReport:
    """What a recovery did, for the event log, the status API and ``resync``'s output."""

    reason: str
    prefer: str
    folder: Path | None = None
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
        return (
            f"Recovered in {self.duration_ms:.0f} ms: {self.reason} Local files moved to "
            f"{self.folder}; {what}; {pushed}."
        )


def recover(replica: Any, *, reason: str, prefer: str = "remote") -> RecoveryReport:
    """Quarantine the replica's files, rebuild it from the remote, put back what only the old
    copy held, and push. Holds the replica's sync and write locks while it rebuilds; reads
    answer from a read-only copy of the old files until the new ones are ready (or, when the
    rebuild fails, until a retry succeeds)."""
    from syncops.replica import SyncError
    from syncops.signals import recovered

    if prefer not in PREFERENCES:
        raise ValueError(f"prefer must be one of {PREFERENCES}, not {prefer!r}")
    started = time.perf_counter()
    report = RecoveryReport(reason=reason, prefer=prefer)
    with replica.lock:
        try:
            remote_sql.query(replica.url, replica.token, "SELECT 1")
        except remote_sql.RemoteError as exc:
            raise SyncError(
                f"Recovery waits for the remote {replica.state.remote_url}: {exc}. Nothing was "
                "moved; it is retried with the next sync."
            ) from exc
        with replica.write_lock:  # no request writes while the files change under it
            # A recovery that failed half-way left its old copy unmerged: finish that one.
            report.folder = replica.unmerged_copy
            if report.folder is None:
                if replica.journals:  # the journal must know every write the old file holds
                    from syncops import journal

                    try:
                        journal.promote(replica.raw_connection())
                    except Exception:
                        logger.exception("Could not read the journaled writes of %s", replica.path)
                replica.start_read_copy(reason)
                try:
                    replica.close()
                    report.folder = quarantine(replica.path, reason=reason)
                except BaseException:
                    replica.end_read_copy()  # the files stay where they were: read them again
                    raise
                replica.unmerged_copy = report.folder
            try:
                connection = replica.raw_connection()  # a fresh copy, from the remote
                old = report.folder / Path(replica.path).name
                report.reseeded, report.restored = merge(connection, old, prefer=prefer)
                if report.reseeded or prefer == "local":
                    _in_transaction(connection, lambda: epoch.renew(connection))
                replica.rebuilt()
            except Exception as exc:
                replica.close()
                raise SyncError(
                    f"Rebuilding {replica.path} failed: {exc}. The old copy is safe in "
                    f"{report.folder} and is merged when the recovery is retried; reads "
                    "answer from it meanwhile and writes are refused."
                ) from exc
            replica.unmerged_copy = None
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
    recovered.send(sender=type(replica), replica=replica, report=report)
    return report


def user_tables(connection: Any) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    ).fetchall()
    return [row[0] for row in rows if not row[0].startswith(_INTERNAL_PREFIXES)]


def read_old_copy(path: Path) -> sqlite3.Connection | None:
    """The quarantined database, read-only; None when it is missing or unreadable."""
    if not path.exists():
        return None
    try:
        old = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        old.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()
        return old
    except sqlite3.DatabaseError as exc:
        logger.warning("The old copy %s cannot be read (%s); nothing to put back.", path, exc)
        return None


def merge(connection: Any, old_path: Path, *, prefer: str) -> tuple[bool, dict[str, int]]:
    """Put the old copy's rows into the rebuilt replica; returns (reseeded, rows per table).

    When the remote holds none of the old copy's tables it was reset: the schema is created
    first (a reseed)."""
    old = read_old_copy(old_path)
    if old is None:
        return False, {}
    try:
        tables = user_tables(old)
        existing = set(user_tables(connection))
        reseeded = bool(tables) and not (set(tables) & existing)
        restored: dict[str, int] = {}

        def copy() -> None:
            for kind in ("table", "index"):
                for name, sql in old.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = ? AND sql IS NOT NULL",
                    (kind,),
                ):
                    table_missing = name not in existing if kind == "table" else reseeded
                    if table_missing and not name.startswith(_INTERNAL_PREFIXES):
                        connection.execute(sql)
            for table in tables:
                restored[table] = _copy_rows(connection, old, table, prefer=prefer)

        _in_transaction(connection, copy)
    finally:
        old.close()
    return reseeded, {table: count for table, count in restored.items() if count}


def _copy_rows(connection: Any, old: sqlite3.Connection, table: str, *, prefer: str) -> int:
    columns = [row[1] for row in old.execute(f'PRAGMA table_info("{table}")')]
    if not columns:
        return 0
    verb = "INSERT OR REPLACE" if prefer == "local" else "INSERT OR IGNORE"
    names = ", ".join(f'"{column}"' for column in columns)
    before = _count(connection, table)
    rows_per_statement = max(1, _MAX_PARAMETERS // len(columns))
    written = 0
    for chunk in _chunks(old.execute(f'SELECT {names} FROM "{table}"'), rows_per_statement):
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
