"""Replica mode's write transactions: decided on the local file, sent to sqld as one batch,
guarded by what they changed there (syncops.backend.batch)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncops.backend import database as Database
from syncops.backend.batch import BatchWriter
from syncops.devservers import Server
from syncops.replica import LibsqlReplica
from syncops.replica.hrana import HranaClient, Step


@pytest.fixture
def replica(sqld_server: Server, tmp_path: Path) -> Iterator[LibsqlReplica]:
    primary = HranaClient(sqld_server.url)
    schema = [
        Step("CREATE TABLE parent (id TEXT PRIMARY KEY)"),
        Step(
            "CREATE TABLE item (id TEXT PRIMARY KEY, key TEXT UNIQUE, version INTEGER, "
            "parent_id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        ),
        Step("INSERT INTO item VALUES ('a', 'ka', 1, NULL)"),
    ]
    assert primary.run_transaction(schema).committed
    replica = LibsqlReplica(str(tmp_path / "replica.db"), url=sqld_server.url)
    replica.before_write()  # opens the file and syncs it once
    yield replica
    replica.close()


def writer_of(replica: LibsqlReplica) -> BatchWriter:
    writer = replica.writer_for(replica.connect())
    assert isinstance(writer, BatchWriter)
    return writer


def local_rows(replica: LibsqlReplica, sql: str) -> list[Any]:
    reader = replica.connect()
    try:
        return list(reader.execute(sql).fetchall())
    finally:
        replica.release(reader)


def on_primary(server: Server, sql: str) -> list[Any]:
    (result, _) = HranaClient(server.url).pipeline(
        [{"type": "execute", "stmt": {"sql": sql}}, {"type": "close"}], read_timeout=5
    )
    return [[value.get("value") for value in row] for row in result["response"]["result"]["rows"]]


def test_a_transaction_reads_its_own_writes_and_reaches_the_primary_in_one_request(
    replica: LibsqlReplica, sqld_server: Server
) -> None:
    writer = writer_of(replica)
    with replica.write_lock:
        writer.execute("BEGIN")
        writer.execute("INSERT INTO item VALUES (?, ?, ?, NULL)", ("b", "kb", 1))
        assert writer.execute("SELECT COUNT(*) FROM item").fetchall() == [(2,)]
        cursor = writer.execute("UPDATE item SET version = version + 1 RETURNING id")
        assert sorted(cursor.fetchall()) == [("a",), ("b",)]
        assert writer.execute("WITH x AS (SELECT 1) SELECT * FROM x").fetchall() == [(1,)]
        before = writer.client.requests
        writer.commit()
        assert writer.client.requests == before + 1  # the whole transaction: one request
    assert on_primary(sqld_server, "SELECT id, version FROM item ORDER BY id") == [
        ["a", "2"],
        ["b", "2"],
    ]
    # Read-your-writes: the file synced before commit returned.
    assert local_rows(replica, "SELECT id, version FROM item ORDER BY id") == [("a", 2), ("b", 2)]


def test_a_rolled_back_transaction_sends_nothing_and_leaves_the_file_as_it_was(
    replica: LibsqlReplica,
) -> None:
    writer = writer_of(replica)
    with replica.write_lock:
        writer.execute("BEGIN")
        writer.execute("DELETE FROM item")
        before = writer.client.requests
        writer.rollback()
        assert writer.client.requests == before
    assert local_rows(replica, "SELECT COUNT(*) FROM item") == [(1,)]
    assert local_rows(replica, "PRAGMA integrity_check") == [("ok",)]


def test_a_row_another_process_changed_makes_the_batch_not_applied_and_the_file_catch_up(
    replica: LibsqlReplica, sqld_server: Server
) -> None:
    # Another process moves the row on the primary; this replica has not synced since.
    assert (
        HranaClient(sqld_server.url)
        .run_transaction([Step("UPDATE item SET version = 5 WHERE id = 'a'")])
        .committed
    )
    writer = writer_of(replica)
    with replica.write_lock:
        writer.execute("BEGIN")
        # An optimistic update decided on the stale copy: one row here, none on the primary.
        update = "UPDATE item SET version = 2 WHERE id = 'a' AND version = 1"
        assert writer.execute(update).rowcount == 1
        writer.execute("INSERT INTO item VALUES ('c', 'kc', 1, NULL)")
        with pytest.raises(Database.NotApplied, match="behind the primary"):
            writer.commit()
        assert not writer.in_transaction
    assert on_primary(sqld_server, "SELECT id, version FROM item ORDER BY id") == [["a", "5"]]
    # The file caught up: the request, run again, decides on what the primary holds.
    assert local_rows(replica, "SELECT version FROM item WHERE id = 'a'") == [(5,)]


def test_a_unique_key_taken_elsewhere_is_not_applied_then_refused_here(
    replica: LibsqlReplica, sqld_server: Server
) -> None:
    assert (
        HranaClient(sqld_server.url)
        .run_transaction([Step("INSERT INTO item VALUES ('z', 'kz', 1, NULL)")])
        .committed
    )
    writer = writer_of(replica)
    with replica.write_lock:
        writer.execute("BEGIN")
        writer.execute("INSERT INTO item VALUES ('y', 'kz', 1, NULL)")  # free on the stale copy
        with pytest.raises(Database.NotApplied):
            writer.commit()
        writer.execute("BEGIN")  # the retry: the copy now knows the key
        with pytest.raises(Exception, match="UNIQUE constraint failed"):
            writer.execute("INSERT INTO item VALUES ('y', 'kz', 1, NULL)")
        writer.rollback()
    assert on_primary(sqld_server, "SELECT id FROM item ORDER BY id") == [["a"], ["z"]]


def test_a_deferred_foreign_key_violation_is_an_integrity_error_at_commit(
    replica: LibsqlReplica, sqld_server: Server
) -> None:
    writer = writer_of(replica)
    with replica.write_lock:
        writer.execute("BEGIN")
        writer.execute("INSERT INTO item VALUES ('o', 'ko', 1, 'no-such-parent')")
        with pytest.raises(Database.IntegrityError, match="FOREIGN KEY"):
            writer.commit()
    assert on_primary(sqld_server, "SELECT id FROM item ORDER BY id") == [["a"]]


def test_a_write_in_autocommit_is_a_batch_of_its_own(
    replica: LibsqlReplica, sqld_server: Server
) -> None:
    writer = writer_of(replica)
    with replica.write_lock:
        cursor = writer.execute("INSERT INTO parent VALUES ('p') RETURNING id")
        assert cursor.fetchall() == [("p",)]
        assert not writer.in_transaction
    assert on_primary(sqld_server, "SELECT id FROM parent") == [["p"]]
    assert local_rows(replica, "SELECT id FROM parent") == [("p",)]


def test_a_hung_primary_refuses_the_write_in_bounded_time_then_costs_only_a_health_check(
    replica: LibsqlReplica, sqld_server: Server
) -> None:
    import time

    writer = writer_of(replica)
    sqld_server.pause()
    try:
        with replica.write_lock:
            for budget in (7.0, 2.0):  # the batch's timeout, then the health check's
                started = time.monotonic()
                writer.execute("BEGIN")
                writer.execute("INSERT INTO parent VALUES (?)", (f"h{budget}",))
                with pytest.raises(Database.Unavailable, match="did not answer"):
                    writer.commit()
                assert time.monotonic() - started < budget
                assert not writer.in_transaction
    finally:
        sqld_server.resume()
    assert replica.state.last_error and "unreachable" in replica.state.last_error
    with replica.write_lock:
        writer.execute("INSERT INTO parent VALUES ('after')")
    assert "after" in [row[0] for row in on_primary(sqld_server, "SELECT id FROM parent")]


def test_an_id_the_engine_picks_must_be_the_same_on_the_primary(
    replica: LibsqlReplica, sqld_server: Server
) -> None:
    """An insert whose id the engine chose and Django read back (``RETURNING``): another
    process took that id on the primary since the last sync, so the batch is refused rather
    than leave rows pointing at the other process's row."""
    primary = HranaClient(sqld_server.url)
    assert primary.run_transaction([Step("CREATE TABLE counter (id INTEGER PRIMARY KEY, v)")])
    writer = writer_of(replica)
    with replica.write_lock:
        writer.execute("SELECT 1")
        replica._catch_up()  # the file has the table
    assert primary.run_transaction([Step("INSERT INTO counter (v) VALUES ('other')")]).committed
    with replica.write_lock:
        writer.execute("BEGIN")
        cursor = writer.execute("INSERT INTO counter (v) VALUES ('mine') RETURNING id")
        assert cursor.fetchall() == [(1,)]  # what the stale file picked
        with pytest.raises(Database.NotApplied):
            writer.commit()
    assert on_primary(sqld_server, "SELECT id, v FROM counter") == [["1", "other"]]


def test_a_pragma_that_writes_goes_to_the_primary_never_to_the_file(
    replica: LibsqlReplica, sqld_server: Server
) -> None:
    writer = writer_of(replica)
    with replica.write_lock:
        writer.execute("PRAGMA user_version = 7")
        assert writer.execute("PRAGMA foreign_key_check").fetchall() == []  # reads stay local
    assert on_primary(sqld_server, "PRAGMA user_version") == [["7"]]
    assert local_rows(replica, "PRAGMA user_version") == [(7,)]  # synced, not written here
