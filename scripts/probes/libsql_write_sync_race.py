"""Probe: one embedded-replica file, one connection forwarding writes while another connection
of the same file calls sync(), each in its own thread. Does the file survive?

Run: .venv/bin/python scripts/probes/libsql_write_sync_race.py [SECONDS]

Measured 2026-11-25 (libsql-experimental 0.0.55, sqld 0.24): within 4 s, both threads fail
with "replication error: Injector error: SQLite error: database disk image is malformed" and
the file cannot be opened again (3 runs of 3). Reads instead of writes on the first connection
while the other syncs: no error (2 runs). syncops' LibsqlReplica has exactly this shape: request
connections forward writes while its own sync connection syncs (after each write, on a timer,
before relaying a live event).
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import libsql_experimental as libsql
from _common import start_sqld

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0


def open_replica(path: Path, url: str) -> libsql.Connection:
    return libsql.connect(str(path), sync_url=url, isolation_level=None, check_same_thread=False)


with tempfile.TemporaryDirectory() as tmp, start_sqld(Path(tmp) / "sqld") as server:
    writer = open_replica(Path(tmp) / "replica.db", server.url)
    writer.sync()
    writer.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)")
    syncer = open_replica(Path(tmp) / "replica.db", server.url)
    errors: list[str] = []
    stop = time.monotonic() + SECONDS
    written = synced = 0

    def write() -> None:
        global written
        while time.monotonic() < stop and not errors:
            try:
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("INSERT INTO t VALUES (?, 'v')", (f"row-{written}",))
                writer.execute("COMMIT")
                writer.execute("SELECT count(*) FROM t").fetchall()
                written += 1
            except Exception as exc:
                errors.append(f"write: {exc}")

    def sync() -> None:
        global synced
        while time.monotonic() < stop and not errors:
            try:
                syncer.sync()
                synced += 1
            except Exception as exc:
                errors.append(f"sync: {exc}")
            time.sleep(0.005)

    threads = [threading.Thread(target=write), threading.Thread(target=sync)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{written} writes and {synced} syncs in {SECONDS:g} s; errors: {errors or 'none'}")
    try:
        again = open_replica(Path(tmp) / "replica.db", server.url)
        again.sync()
        print("the file opens again:", again.execute("SELECT count(*) FROM t").fetchall())
    except Exception as exc:
        print(f"the file does not open again: {exc}")
