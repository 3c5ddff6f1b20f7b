"""Probe: the write path of replica mode as one batch. A plain read-write libSQL connection of
the replica file runs each transaction locally (to read its own writes, get rowcounts and
constraint errors) and rolls it back; the writes go to the primary as one Hrana pipeline
request; the replica syncs. Readers read the file meanwhile. Does the file survive, and does
it hold every committed row?

Run: .venv/bin/python scripts/probes/libsql_scratch_batch.py [SECONDS] [ROWS_PER_TXN]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import libsql_experimental as libsql
from _common import start_sqld

from syncops.replica.hrana import HranaClient, Step

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
SECONDS = float(ARGS[0]) if ARGS else 5.0
ROWS = int(ARGS[1]) if len(ARGS) > 1 else 3


with tempfile.TemporaryDirectory() as tmp, start_sqld(Path(tmp) / "sqld") as server:
    path = Path(tmp) / "replica.db"
    replica = libsql.connect(
        str(path), sync_url=server.url, isolation_level=None, check_same_thread=False
    )
    replica.sync()
    replica.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT, blob TEXT)")
    replica.sync()
    scratch = libsql.connect(str(path), isolation_level=None, check_same_thread=False)
    scratch.execute("PRAGMA cache_spill = OFF")
    stop = time.monotonic() + SECONDS
    errors: list[str] = []
    written = [0]

    def read() -> None:
        reader = libsql.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        while time.monotonic() < stop and not errors:
            try:
                reader.execute("SELECT COUNT(*) FROM t").fetchall()
            except Exception as exc:
                errors.append(f"reader: {exc}")

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    batches = 0
    primary = HranaClient(server.url)
    while time.monotonic() < stop and not errors:
        scratch.execute("BEGIN IMMEDIATE")
        steps = []
        for _ in range(ROWS):
            key, big = f"row-{written[0]}", "x" * 2000
            written[0] += 1
            cursor = scratch.execute("INSERT INTO t VALUES (?, 'v', ?)", (key, big))
            steps.append(Step("INSERT INTO t VALUES (?, 'v', ?)", (key, big), cursor.rowcount))
        seen = scratch.execute("SELECT COUNT(*) FROM t").fetchall()[0][0]
        assert seen == written[0], (seen, written[0])
        scratch.execute("ROLLBACK")
        result = primary.run_transaction(steps)
        if not result.committed:
            errors.append(f"batch: {result}")
            break
        replica.sync()
        batches += 1
        local = replica.execute("SELECT COUNT(*) FROM t").fetchall()[0][0]
        if local != written[0]:
            errors.append(f"after sync the replica holds {local} rows, {written[0]} written")
    for thread in threads:
        thread.join()
    check = scratch.execute("PRAGMA integrity_check").fetchall()
    scratch.close()
    replica.close()
    again = libsql.connect(str(path), sync_url=server.url, isolation_level=None)
    again.sync()
    final = again.execute("SELECT COUNT(*) FROM t").fetchall()[0][0]
    print(
        f"batches {batches}, rows {written[0]}, replica after reopen {final}, "
        f"integrity {check}, errors {errors[:3]}"
    )
