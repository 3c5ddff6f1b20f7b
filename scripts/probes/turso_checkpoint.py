"""Probe the Turso sync engine's storage: WAL growth under writes and pushes, ``checkpoint()``
with pooled idle connections open (and with a read transaction open), whether it truncates
the -wal file, and what keeps the engine's change log (``turso_cdc``) from growing.

Run: .venv/bin/python scripts/probes/turso_checkpoint.py
Findings (pyturso 0.8.3): docs/sync-facts.md, "WAL and change log".
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import describe, start_turso_sync_server

from syncops.replica import TursoReplica


def sizes(path: str) -> str:
    found = [(s, Path(path + s)) for s in ("", "-wal", "-changes", "-info", "-wal-revert")]
    return " ".join(
        f"{s or 'db'}={p.stat().st_size / 2**20:.2f}MiB" for s, p in found if p.exists()
    )


def push(replica: TursoReplica) -> None:
    """The engine's push under the replica's lock (syncops' journal needs Django: not here)."""
    with replica.lock:
        replica._sync_connection.push()


def pull(replica: TursoReplica) -> bool:
    """The engine's pull under the replica's locks (the replica's own pull journals: Django)."""
    with replica.lock, replica.write_lock:
        return bool(replica._sync_connection.pull())


def cdc_rows(replica: TursoReplica) -> int:
    return replica._sync_connection.execute("SELECT COUNT(*) FROM turso_cdc").fetchall()[0][0]


def write_batch(replica: TursoReplica, n: int, start: int) -> None:
    conn = replica.connect()
    try:
        for i in range(start, start + n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (id, body) VALUES (?, ?)", (f"k{i}", "x" * 500))
            conn.execute("UPDATE t SET body = ? WHERE id = ?", ("y" * 500, f"k{i}"))
            conn.execute("COMMIT")
    finally:
        replica.release(conn)


def try_checkpoint(label: str, replica: TursoReplica) -> None:
    started = time.perf_counter()
    try:
        with replica.lock, replica.write_lock:
            replica._sync_connection.checkpoint()
        took = (time.perf_counter() - started) * 1000
        print(f"{label}: ok in {took:.0f} ms; {sizes(replica.path)}")
    except Exception as exc:  # noqa: BLE001
        print(f"{label}: {describe(exc)}")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="turso-checkpoint-"))
    with start_turso_sync_server(root / "remote" / "remote.db") as server:
        a = TursoReplica(str(root / "a.db"), url=server.url)
        b = TursoReplica(str(root / "b.db"), url=server.url)
        conn = a.connect()
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT)")
        a.release(conn)
        push(a)
        n = 0
        for _ in range(5):
            write_batch(a, 300, n)
            n += 300
            push(a)
            stats = a._sync_connection.stats()
            print(
                f"writes {n}, pushed: {sizes(a.path)} main_wal_size={stats.main_wal_size} "
                f"pending={stats.cdc_operations} turso_cdc rows={cdc_rows(a)}"
            )
        try_checkpoint(f"checkpoint, {len(a._idle)} idle pooled connections open", a)
        reader = a.connect()
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM t").fetchall()
        write_batch(a, 100, n)
        n += 100
        push(a)
        try_checkpoint("checkpoint, a read transaction open", a)
        reader.rollback()
        a.release(reader)
        write_batch(a, 100, n)
        n += 100
        try_checkpoint("checkpoint, 100 writes not pushed yet", a)
        push(a)
        print(f"pushed after that checkpoint; turso_cdc rows={cdc_rows(a)}")
        print(f"pull applied changes: {pull(a)}; turso_cdc rows={cdc_rows(a)}")
        b._ensure_open()
        pull(b)
        print(f"other replica: {b._sync_connection.execute('SELECT COUNT(*) FROM t').fetchall()}")
        print(f"writes made: {n}")
        a.close()
        b.close()


if __name__ == "__main__":
    main()
