"""Probe what a push of updated rows costs as the remote's table grows.

The sync engine replays each pushed UPDATE and DELETE on the remote as a statement that
pins the row with ``WHERE "pk" IS ?`` (NULL-safe). This times a push of 300 updates against
a table of 1,000 rows and of 50,000 rows, and prints the remote's plan for that predicate.

Run: .venv/bin/python scripts/probes/turso_push_cost.py
Findings (pyturso 0.8.3; tursodb 0.6.0 and 0.8.0-pre.4): docs/sync-facts.md, "What a push
costs on the remote".
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from _common import start_turso_sync_server

from syncops import devservers


def push_of_updates_ms(conn, rows: int) -> float:
    for row_id in range(1, rows + 1):
        conn.execute("UPDATE t SET v = ? WHERE id = ?", (f"edited {time.time()}", row_id))
    started = time.perf_counter()
    conn.push()
    elapsed = (time.perf_counter() - started) * 1000
    conn.pull()
    conn.checkpoint()
    return elapsed


def main() -> None:
    import turso.lib_sync as lib_sync

    binary = devservers.tursodb_binary()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    print(f"remote: {version.strip()}")
    with tempfile.TemporaryDirectory() as tmp, start_turso_sync_server(Path(tmp, "r.db")) as server:
        conn = lib_sync.connect_sync(f"{tmp}/a.db", remote_url=server.url, isolation_level=None)
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT)")
        size = 0
        for target in (1_000, 50_000):
            conn.execute("BEGIN")
            for row_id in range(size + 1, target + 1):
                conn.execute("INSERT INTO t VALUES (?, ?, ?)", (row_id, f"k{row_id}", "x" * 300))
            conn.execute("COMMIT")
            conn.push()
            conn.pull()
            conn.checkpoint()
            size = target
            took = push_of_updates_ms(conn, 300)
            print(f"{size:>6,} rows: a push of 300 updates took {took:7.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        db = f"{tmp}/plan.db"
        subprocess.run([binary, db, "CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)"], check=True)
        plan = subprocess.run(
            [binary, db, "EXPLAIN QUERY PLAN UPDATE t SET v = 1 WHERE \"id\" IS 'a'"],
            capture_output=True,
            text=True,
        ).stdout
        print("plan of the replayed predicate:", " ".join(plan.split()))


if __name__ == "__main__":
    main()
