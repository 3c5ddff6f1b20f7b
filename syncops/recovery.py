"""Safe rebuilds of a replica: local files are moved into a quarantine folder, never deleted."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

# Files a replica keeps beside its database: SQLite's WAL and shared memory, libSQL's -info,
# and the Turso sync engine's -changes, -info and -wal-revert.
REPLICA_SUFFIXES = ("", "-wal", "-shm", "-info", "-changes", "-wal-revert", "-client_wal_index")


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
