"""Probe whether the remote's WAL can be checkpointed: ``tursodb --sync-server`` never
checkpoints by itself (its -wal file grew to 1.4 GiB in a 19-minute soak, the database file
stayed at 4 KiB), and every push and pull got slower with it. A checkpoint can be asked over
its SQL endpoint (``/v2/pipeline``); this shows what it does to the replicas' sync.

Run: .venv/bin/python scripts/probes/turso_remote_checkpoint.py
Findings (tursodb 0.6.0 and 0.8.0-pre.4, pyturso 0.8.3): docs/sync-facts.md, "The remote's WAL".
"""

from __future__ import annotations

import os
import tempfile

from _common import describe, start_turso_sync_server

from syncops import remote


def main() -> None:
    import turso.lib_sync as lib_sync

    with tempfile.TemporaryDirectory() as tmp, start_turso_sync_server(f"{tmp}/r.db") as server:

        def sizes() -> str:
            db, wal = (os.path.getsize(f"{tmp}/r.db{suffix}") for suffix in ("", "-wal"))
            return f"remote db {db} B, wal {wal} B"

        a = lib_sync.connect_sync(f"{tmp}/a.db", remote_url=server.url, isolation_level=None)
        a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        for index in range(2000):
            a.execute("INSERT INTO t VALUES (?, ?)", (index, "x" * 200))
        a.push()
        print("after 2,000 pushed rows:", sizes())
        print(
            "PRAGMA wal_checkpoint(TRUNCATE) on the remote:",
            remote.query(server.url, "", "PRAGMA wal_checkpoint(TRUNCATE)"),
        )
        print("after it:", sizes())
        b = lib_sync.connect_sync(f"{tmp}/b.db", remote_url=server.url, isolation_level=None)
        try:
            print("a new replica reads:", b.execute("SELECT count(*) FROM t").fetchall())
        except Exception as exc:  # noqa: BLE001 - the finding
            print("a new replica reads:", describe(exc))


if __name__ == "__main__":
    main()
