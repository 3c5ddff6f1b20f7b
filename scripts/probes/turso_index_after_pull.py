"""Probe whether rows a pull (or a rebase) brings are found through a secondary index.

Two offline replicas of one tursodb remote, a history-like table with a composite index:
each writes rows while cut off from the other, then both push and pull, and every replica
counts the rows of one space through the index and with the index defeated.

Run: .venv/bin/python scripts/probes/turso_index_after_pull.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _common import start_turso_sync_server

SCHEMA = [
    "CREATE TABLE h (id TEXT PRIMARY KEY, space_id TEXT NOT NULL, thought_key TEXT NOT NULL,"
    " action TEXT NOT NULL)",
    "CREATE INDEX h_space_thought ON h (space_id, thought_key, id)",
    "CREATE TABLE s (id TEXT PRIMARY KEY, title TEXT, version INTEGER)",
]


def counts(conn) -> tuple[int, int, int]:
    indexed = conn.execute(
        "SELECT count(*) FROM h WHERE space_id = 'S' AND action = 'space.updated'"
    ).fetchone()[0]
    scanned = conn.execute(
        "SELECT count(*) FROM h WHERE space_id || '' = 'S' AND action = 'space.updated'"
    ).fetchone()[0]
    listed = len(conn.execute("SELECT id FROM h WHERE space_id = 'S'").fetchall())
    return indexed, scanned, listed


def main() -> None:
    import turso.lib_sync as lib_sync

    with tempfile.TemporaryDirectory() as tmp, start_turso_sync_server(Path(tmp, "r.db")) as server:
        a = lib_sync.connect_sync(f"{tmp}/a.db", remote_url=server.url, isolation_level=None)
        for statement in SCHEMA:
            a.execute(statement)
        a.execute("INSERT INTO s VALUES ('S', 'first', 1)")
        a.push()
        b = lib_sync.connect_sync(f"{tmp}/b.db", remote_url=server.url, isolation_level=None)
        b.pull()
        mismatches = 0
        for round_ in range(30):
            for name, conn in (("a", a), ("b", b)):
                conn.execute("BEGIN")
                conn.execute(
                    "UPDATE s SET title = ?, version = version + 1 WHERE id = 'S'",
                    (f"{name}{round_}",),
                )
                conn.execute(
                    "INSERT INTO h VALUES (?, 'S', '', 'space.updated')", (f"{round_:03}{name}",)
                )
                conn.execute("COMMIT")
            # Both pushed while the other's change was not there yet: each pull rebases.
            a.push()
            b.push()
            a.pull()
            b.pull()
            a.pull()
            for name, conn in (("a", a), ("b", b)):
                found = counts(conn)
                if len(set(found)) != 1 or found[0] != 2 * (round_ + 1):
                    mismatches += 1
                    print(f"round {round_} replica {name}: indexed, scanned, listed = {found}")
        print(f"{mismatches} mismatching counts in 60")


if __name__ == "__main__":
    main()
