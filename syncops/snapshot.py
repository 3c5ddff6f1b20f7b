"""Row counts of a replica file read from a temporary copy, for ``manage.py resync``.

Opening the file itself would change it: a libSQL embedded replica syncs when opened, the
Turso engine bootstraps or writes its metadata, a file found unreadable is quarantined, and
even a read-only SQLite reader writes its marks into ``-shm``. So the database and its WAL are
copied to a temporary folder and read there with the standard library: ``--dry-run`` changes
no byte of the instance.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from syncops.recovery import user_tables


@dataclass
class Snapshot:
    """What a copy of a database file holds: row counts per table, or why it cannot tell."""

    path: Path
    exists: bool = True
    error: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.exists:
            return f"{self.path}: no file"
        if self.error:
            return f"{self.path}: unreadable ({self.error})"
        return f"{self.path}: {len(self.counts)} table(s), {sum(self.counts.values())} row(s)"


def read_counts(database: Path) -> Snapshot:
    """Count the rows of every table of ``database`` (with its ``-wal``) on a copy of it."""
    snapshot = Snapshot(database)
    if not database.is_file():
        snapshot.exists = False
        return snapshot
    with tempfile.TemporaryDirectory(prefix="thoughtspace-snapshot-") as scratch:
        copy = Path(scratch) / "copy.db"
        shutil.copyfile(database, copy)
        wal = Path(f"{database}-wal")
        if wal.is_file():
            shutil.copyfile(wal, f"{copy}-wal")
        try:
            connection = sqlite3.connect(copy)
            try:
                for name in user_tables(connection):
                    (rows,) = connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()
                    snapshot.counts[name] = int(rows)
            finally:
                connection.close()
        except sqlite3.DatabaseError as exc:
            snapshot.error = str(exc)
    return snapshot
