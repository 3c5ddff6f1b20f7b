"""Probe: one embedded-replica connection forwards writes and syncs (as LibsqlReplica does),
while other threads read the same file through plain libSQL connections (no ``sync_url``,
``PRAGMA query_only``). Does the file survive, do the readers see committed rows right after
the sync, and do they never see a row of a transaction still open on the syncing connection?

Run: .venv/bin/python scripts/probes/libsql_plain_readers.py [SECONDS] [READERS] [--shared]
     [--ro] [--reopen]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import libsql_experimental as libsql
from _common import start_sqld

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
SECONDS = float(ARGS[0]) if ARGS else 5.0
READERS = int(ARGS[1]) if len(ARGS) > 1 else 3
SHARED = "--shared" in sys.argv  # control: the readers use the syncing connection itself
READ_ONLY = "--ro" in sys.argv  # readers open the file with SQLITE_OPEN_READONLY (mode=ro)
REOPEN = "--reopen" in sys.argv  # readers open and close a connection per read, as requests do


def open_replica(path: Path, url: str) -> libsql.Connection:
    return libsql.connect(str(path), sync_url=url, isolation_level=None, check_same_thread=False)


def open_reader(path: Path) -> libsql.Connection:
    if READ_ONLY:
        return libsql.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    reader = libsql.connect(str(path), isolation_level=None, check_same_thread=False)
    reader.execute("PRAGMA query_only = ON")
    return reader


with tempfile.TemporaryDirectory() as tmp, start_sqld(Path(tmp) / "sqld") as server:
    path = Path(tmp) / "replica.db"
    writer = open_replica(path, server.url)
    writer.sync()
    writer.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)")
    writer.sync()
    errors: list[str] = []
    stop = time.monotonic() + SECONDS
    stats = {"written": 0, "reads": 0, "uncommitted_seen": 0, "stale_after_sync": 0}
    open_row = threading.Event()  # set while a transaction holds the row 'open'
    committed = [0]  # rows committed and synced

    def write() -> None:
        while time.monotonic() < stop and not errors:
            try:
                index = stats["written"]
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("INSERT INTO t VALUES (?, 'v')", (f"row-{index}",))
                if index % 10 == 0:  # hold a transaction open with an uncommitted row
                    writer.execute("INSERT INTO t VALUES ('open', 'v')")
                    open_row.set()
                    time.sleep(0.02)
                    writer.execute("ROLLBACK")
                    open_row.clear()
                    stats["written"] += 1
                    continue
                writer.execute("COMMIT")
                writer.sync()
                stats["written"] += 1
                committed[0] += 1
                seen = checker.execute("SELECT COUNT(*) FROM t").fetchall()[0][0]
                if seen < committed[0]:
                    stats["stale_after_sync"] += 1
            except Exception as exc:
                errors.append(f"write: {exc}")

    def read() -> None:
        reader = writer if SHARED else open_reader(path)
        while time.monotonic() < stop and not errors:
            try:
                if REOPEN:
                    reader = open_reader(path)
                rows = reader.execute("SELECT id FROM t WHERE id = 'open'").fetchall()
                reader.execute("SELECT COUNT(*), MAX(id) FROM t").fetchall()
                if REOPEN:
                    reader.close()
                stats["reads"] += 1
                if rows:
                    stats["uncommitted_seen"] += 1
            except Exception as exc:
                errors.append(f"read: {exc}")

    checker = open_reader(path)
    threads = [threading.Thread(target=write)] + [
        threading.Thread(target=read) for _ in range(READERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kind = "the syncing connection" if SHARED else "plain connections"
    kind += " (mode=ro)" if READ_ONLY else ""
    kind += ", one per read" if REOPEN else ""
    print(f"{SECONDS:g} s, {READERS} readers on {kind}: {stats}; errors: {errors or 'none'}")
    try:
        again = open_replica(path, server.url)
        again.sync()
        local = again.execute("SELECT COUNT(*) FROM t").fetchall()[0][0]
        check = again.execute("PRAGMA integrity_check").fetchall()
        print(f"the file opens again: {local} rows, integrity {check}")
    except Exception as exc:
        print(f"the file does not open again: {exc}")
