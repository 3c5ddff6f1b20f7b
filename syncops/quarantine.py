"""Quarantine: a replica's local files moved aside into a timestamped folder, never deleted
while they hold something the rebuilt replica lacks (syncops.recovery merges them back;
syncops.storage deletes merged ones after ``THOUGHTSPACE_QUARANTINE_DAYS``)."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

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
UNMERGED = "UNMERGED"  # marks a quarantine folder whose copy is still to be merged back


def replica_files(database_path: str) -> list[Path]:
    base = Path(database_path)
    return [
        Path(f"{base}{suffix}") for suffix in REPLICA_SUFFIXES if Path(f"{base}{suffix}").exists()
    ]


def quarantine_root(database_path: str) -> Path:
    """Where a database's quarantined copies go (``var/quarantine/`` by default)."""
    return Path(database_path).parent / "quarantine"


def quarantine_dir(database_path: str) -> Path:
    """A new folder for one copy: ``<quarantine root>/<time>/``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return quarantine_root(database_path) / stamp


def quarantine(database_path: str, *, reason: str, prefer: str | None = None) -> Path:
    """Move every local file of the replica into a new timestamped folder; return it.

    With ``prefer`` (a recovery), the folder is marked ``UNMERGED`` before anything moves and
    stays so until its rows are merged into the rebuilt replica: a recovery interrupted in
    between (the remote died, the process was killed) is finished by the next one, in this
    process or after a restart. Other code (quarantine retention) keeps such a folder. The
    journal takes every change the moved copy's change log holds (syncops.journal): the new
    file starts a change log of its own."""
    target = quarantine_dir(database_path)
    target.mkdir(parents=True, exist_ok=False)
    (target / "REASON.txt").write_text(f"{reason}\nfrom {database_path}\n")
    if prefer is not None:
        (target / UNMERGED).write_text(
            f"prefer={prefer}\ndatabase={Path(database_path).name}\n"
            "The rows of this copy are not merged into the replica yet: the next recovery (the "
            "server's start, `manage.py sync` or `manage.py resync`) merges them.\n"
        )
    for path in replica_files(database_path):
        shutil.move(str(path), target / path.name)
    _journal_old_copy(target / Path(database_path).name, database_path)
    return target


def _journal_old_copy(old_path: Path, database_path: str) -> None:
    # Imported here: the journal's models need Django's app registry, and the backend imports
    # this module (through syncops.replica) before the registry is ready.
    from syncops import journal

    old = read_old_copy(old_path)
    try:
        if old is not None:
            journal.capture(old, path=database_path)
    except Exception:
        logger.exception("Could not journal the changes of %s", old_path)
    finally:
        if old is not None:
            old.close()
        journal.restart(database_path)


def marker(folder: Path) -> dict[str, str]:
    lines = (folder / UNMERGED).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def unmerged_folders(database_path: str) -> list[Path]:
    """Quarantine folders of this database whose copy was never merged back, oldest first."""
    root = quarantine_root(database_path)
    if not root.is_dir():
        return []
    name = Path(database_path).name
    return sorted(
        folder
        for folder in root.iterdir()
        if (folder / UNMERGED).is_file() and marker(folder).get("database", name) == name
    )


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
