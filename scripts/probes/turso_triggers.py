"""Probe what the Turso sync engine does with triggers: a file's own trigger across a pull, a
TEMP trigger of another connection across that pull, whether the rows a TEMP trigger writes
are pushed, and what creating triggers costs. Also whether ``PRAGMA foreign_key_check``
reports a broken reference.

Run: .venv/bin/python scripts/probes/turso_triggers.py
Findings (pyturso 0.8.3, tursodb 0.6.0): docs/sync-facts.md, "Triggers".
"""

from __future__ import annotations

import tempfile
import time

from _common import start_turso_sync_server


def main() -> None:
    import turso.lib_sync as lib_sync

    with tempfile.TemporaryDirectory() as tmp, start_turso_sync_server(f"{tmp}/r.db") as server:

        def replica(name: str) -> lib_sync.ConnectionSync:
            path = f"{tmp}/{name}.db"
            return lib_sync.connect_sync(path, remote_url=server.url, isolation_level=None)

        a = replica("a")
        a.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT)")
        a.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id))")
        a.execute("CREATE TABLE gone (tbl TEXT, row TEXT)")
        a.push()
        database, http = a._sync, a._http_ctx
        other = lib_sync.ConnectionSync(
            lib_sync._run_op(database, database.connect(), http),
            sync=database,
            http_ctx=http,
            isolation_level=None,
        )
        a.execute(
            "CREATE TRIGGER file_trigger AFTER DELETE ON c "
            "BEGIN INSERT INTO gone VALUES ('c', OLD.id); END"
        )
        other.execute(
            "CREATE TEMP TRIGGER temp_trigger AFTER DELETE ON p "
            "BEGIN INSERT INTO gone VALUES ('p', OLD.id); END"
        )
        other.execute("INSERT INTO p VALUES (1, 'x'), (2, 'y')")
        other.execute("INSERT INTO c VALUES (1, 1), (2, 3)")  # 3: no such row
        found = a.execute("PRAGMA foreign_key_check").fetchall()
        print("foreign_key_check with c.2 -> p.3 missing:", found)
        b = replica("b")
        b.pull()
        b.execute("INSERT INTO p VALUES (5, 'z')")
        b.push()
        a.pull()  # applied on the first connection
        triggers = a.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        print("the file's triggers after a pull:", triggers)
        other.execute("DELETE FROM p WHERE id IN (1, 5)")
        other.execute("DELETE FROM c WHERE id = 1")
        found = other.execute("SELECT * FROM gone").fetchall()
        print("rows the triggers wrote after the pull:", found)
        a.push()
        b.pull()
        print("on the other replica:", b.execute("SELECT * FROM gone").fetchall())
        for kind in ("TEMP TRIGGER", "TRIGGER"):
            started = time.perf_counter()
            for index in range(50):
                other.execute(
                    f"CREATE {kind} IF NOT EXISTS t{kind[0]}{index} AFTER DELETE ON c "
                    "BEGIN INSERT INTO gone VALUES ('c', OLD.id); END"
                )
            print(f"50 x CREATE {kind}: {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
