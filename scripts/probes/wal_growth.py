"""How the WAL grows in local and replica mode (SQLite/libSQL checkpoint by themselves), and
on the tursodb sync server (a remote of offline mode), under many small writes.

Run: .venv/bin/python scripts/probes/wal_growth.py
Findings: docs/sync-facts.md, "WAL and change log".
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import libsql_experimental as libsql
from _common import start_sqld, start_turso_sync_server

from syncops.replica import TursoReplica

WRITES = 3000


def mib(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.2f} MiB" if path.exists() else "none"


def files(directory: Path, pattern: str) -> str:
    return ", ".join(f"{p.name}={mib(p)}" for p in sorted(directory.rglob(pattern)) if p.is_file())


def write(conn: object, i: int, sync: bool = False) -> None:
    conn.execute("INSERT INTO t (id, body) VALUES (?, ?)", (f"k{i}", "x" * 500))  # type: ignore[attr-defined]
    if sync:
        conn.sync()  # type: ignore[attr-defined]


def local_mode(root: Path) -> None:
    path = root / "local.db"
    conn = libsql.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT)")
    for i in range(WRITES):
        write(conn, i)
    print(f"local mode, {WRITES} writes: db={mib(path)} -wal={mib(Path(f'{path}-wal'))}")


def replica_mode(root: Path) -> None:
    with start_sqld(root / "sqld") as server:
        path = root / "replica.db"
        conn = libsql.connect(str(path), sync_url=server.url, isolation_level=None)
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT)")
        conn.sync()
        for i in range(WRITES):
            write(conn, i, sync=i % 10 == 0)
        conn.sync()
        print(f"replica mode, {WRITES} writes: {files(root, 'replica.db*')}")
        print(f"  sqld primary: {files(root / 'sqld', '*data*')}")


def turso_remote(root: Path) -> None:
    with start_turso_sync_server(root / "remote" / "remote.db") as server:
        replica = TursoReplica(str(root / "offline.db"), url=server.url)
        conn = replica.connect()
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT)")
        for i in range(WRITES):
            write(conn, i)
            if i % 100 == 0:
                with replica.lock:
                    replica._sync_connection.push()
        replica.release(conn)
        with replica.lock:
            replica._sync_connection.push()
        print(
            f"tursodb sync server, {WRITES} pushed writes: {files(root / 'remote', 'remote.db*')}"
        )
        replica.close()


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="wal-growth-"))
    local_mode(root)
    replica_mode(root)
    turso_remote(root)


if __name__ == "__main__":
    main()
