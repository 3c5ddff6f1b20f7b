"""The journal captures every row change of the sync engine's change log (real tursodb)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncops import journal
from syncops.devservers import Server, start_turso_sync_server
from syncops.models import JournalEntry

pytestmark = pytest.mark.django_db(databases=["default", "syncops"])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with start_turso_sync_server(tmp_path / "remote" / "remote.db") as started:
        yield started


def replica(server: Server, name: str) -> Any:
    import turso.lib_sync as lib_sync

    path = str(Path(tempfile.mkdtemp()) / f"{name}.db")
    connection = lib_sync.connect_sync(path, remote_url=server.url, isolation_level=None)
    connection.path = path
    return connection


def entries() -> list[dict[str, Any]]:
    return [entry.payload for entry in JournalEntry.objects.order_by("id")]


def capture(connection: Any) -> int:
    return journal.capture(connection, path=connection.path, journaled=lambda table: True)


def test_every_kind_of_row_change_is_captured_with_its_images(server: Server) -> None:
    a = replica(server, "a")
    a.execute("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, f REAL, b BLOB, note TEXT)")
    a.push()
    capture(a)  # the schema change is the engine's, not a row change
    a.execute("INSERT INTO t VALUES ('x', ?, 1.5, x'00ff', NULL)", (2**62 + 1,))
    a.execute("UPDATE t SET note = 'é' WHERE id = 'x'")
    a.execute("DELETE FROM t WHERE id = 'x'")
    assert capture(a) == 3
    insert, update, delete = entries()
    assert insert["op"] == "insert" and insert["row"] == "x" and insert["before"] is None
    assert insert["after"] == {"id": "x", "n": 2**62 + 1, "f": 1.5, "b": "00ff", "note": None}
    assert update["op"] == "update" and update["after"]["note"] == "é"
    assert update["before"]["note"] is None
    assert delete["op"] == "delete" and delete["after"] is None and delete["before"]["id"] == "x"
    assert len({insert["txn"], update["txn"], delete["txn"]}) == 3
    assert all(e.state == JournalEntry.State.COMMITTED for e in JournalEntry.objects.all())


def test_a_rolled_back_transaction_leaves_nothing_and_a_second_capture_adds_nothing(
    server: Server,
) -> None:
    a = replica(server, "a")
    a.execute("CREATE TABLE t (id TEXT PRIMARY KEY)")
    a.execute("BEGIN")
    a.execute("INSERT INTO t VALUES ('gone')")
    a.execute("ROLLBACK")
    a.execute("BEGIN")
    a.execute("INSERT INTO t VALUES ('one')")
    a.execute("INSERT INTO t VALUES ('two')")
    a.execute("COMMIT")
    assert capture(a) == 2
    assert capture(a) == 0
    first, second = entries()
    assert [first["row"], second["row"]] == ["one", "two"] and first["txn"] == second["txn"]


def test_after_a_pull_rewrote_the_change_log_the_next_write_is_captured_once(
    server: Server,
) -> None:
    a, b = replica(server, "a"), None
    a.execute("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER)")
    a.execute("INSERT INTO t VALUES ('a1', 1)")
    a.push()
    b = replica(server, "b")
    b.execute("INSERT INTO t VALUES ('b1', 1)")
    b.push()
    assert capture(a) == 1  # a1
    a.pull()  # applies b1 and rewrites a's change log (its numbering starts again)
    journal.skip_to_end(a, path=a.path)
    a.execute("UPDATE t SET n = 2 WHERE id = 'a1'")
    assert capture(a) == 1
    assert capture(a) == 0
    assert [(e["op"], e["row"]) for e in entries()] == [("insert", "a1"), ("update", "a1")]


def test_a_new_file_is_read_from_its_start(server: Server) -> None:
    a = replica(server, "a")
    a.execute("CREATE TABLE t (id TEXT PRIMARY KEY)")
    a.execute("INSERT INTO t VALUES ('one')")
    assert capture(a) == 1
    journal.restart(a.path)
    assert capture(a) == 1  # read again: the cursor belongs to the file it was read from


def test_states_go_committed_then_pushed_then_away(server: Server) -> None:
    a = replica(server, "a")
    a.execute("CREATE TABLE t (id TEXT PRIMARY KEY)")
    a.execute("INSERT INTO t VALUES ('one')")
    capture(a)
    carried = journal.committed_ids()
    a.execute("INSERT INTO t VALUES ('two')")
    capture(a)  # after the push began: not carried by it
    journal.mark_pushed(carried)
    assert [e.payload["row"] for e in journal.pushed()] == ["one"]
    assert journal.backlog() == {"committed": 1, "pushed": 1}
    journal.resolve([e.key for e in journal.pushed()])
    assert [e.payload["row"] for e in JournalEntry.objects.all()] == ["two"]
