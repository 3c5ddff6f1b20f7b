"""A read-only copy of a replica's files that answers reads while a recovery rebuilds them.

A recovery moves the replica's files into quarantine and builds new ones from the remote;
until the new ones hold everything again, the requests' reads go to a copy of the old files
taken when writes had stopped, opened read-only through plain libSQL (both engines write
SQLite's file format). The copy is deleted once its last connection is closed.
"""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class ReadCopy:
    def __init__(self, database_path: str, *, reason: str) -> None:
        self.reason = reason
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        folder = Path(database_path).parent / "reading" / stamp
        folder.mkdir(parents=True)
        for suffix in ("", "-wal"):
            source = Path(f"{database_path}{suffix}")
            if source.exists():
                shutil.copyfile(source, folder / source.name)
        self.folder = folder
        self.path = folder / Path(database_path).name
        self._open: set[int] = set()
        self._lock = threading.Lock()
        self._retired = False

    def connect(self) -> Any | None:
        """A read-only connection of the copy; None once the copy was retired."""
        import libsql_experimental as libsql

        with self._lock:  # not while retire() deletes the folder
            if self._retired:
                return None
            connection = libsql.connect(
                self.path.resolve().as_uri() + "?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            self._open.add(id(connection))
        return connection

    def release(self, connection: Any) -> None:
        connection.close()
        with self._lock:
            self._open.discard(id(connection))
            done = self._retired and not self._open
        if done:
            shutil.rmtree(self.folder, ignore_errors=True)

    def retire(self) -> None:
        """The rebuilt replica answers now: delete the copy once nobody reads it."""
        with self._lock:
            self._retired = True
            done = not self._open
        if done:
            shutil.rmtree(self.folder, ignore_errors=True)
