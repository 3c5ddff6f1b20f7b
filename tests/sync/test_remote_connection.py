"""Remote mode's driver connection: Hrana over HTTP to a real sqld (syncops.replica.hrana)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from syncops.backend import database as Database
from syncops.devservers import Server
from syncops.replica.hrana import HranaClient, HranaConnection


@pytest.fixture
def client(sqld_server: Server) -> Iterator[HranaClient]:
    client = HranaClient(sqld_server.url, local_reads=False)
    connection = HranaConnection(client)
    connection.execute("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, f REAL, b BLOB)")
    yield client
    client.close()


def rows(client: HranaClient, sql: str) -> list[tuple]:
    return HranaConnection(client).execute(sql).fetchall()


def test_values_travel_losslessly(client: HranaClient) -> None:
    connection = HranaConnection(client)
    values = ("é✓", 2**62 + 1, 0.1, b"\x00\xff")
    connection.execute("INSERT INTO t VALUES (?, ?, ?, ?)", values)
    cursor = connection.execute("SELECT id, n, f, b, NULL AS empty FROM t")
    assert [d[0] for d in cursor.description] == ["id", "n", "f", "b", "empty"]
    assert cursor.fetchall() == [(*values, None)]


def test_a_transaction_of_reads_then_inserts_costs_a_request_per_read_and_one_to_commit(
    client: HranaClient,
) -> None:
    connection = HranaConnection(client)
    before = client.requests
    connection.execute("BEGIN IMMEDIATE")
    assert connection.execute("SELECT COUNT(*) FROM t").fetchall() == [(0,)]  # with the BEGIN
    connection.execute("INSERT INTO t (id, n) VALUES (?, ?)", ("a", 1))
    connection.execute("INSERT INTO t (id, n) VALUES (?, ?)", ("b", 2))
    connection.execute("INSERT INTO t (id, n) VALUES (?, ?)", ("c", 3))
    assert connection.in_transaction
    connection.commit()
    assert client.requests - before == 2
    assert not connection.in_transaction
    assert rows(client, "SELECT id, n FROM t ORDER BY id") == [("a", 1), ("b", 2), ("c", 3)]


def test_a_read_inside_the_transaction_sees_its_waiting_inserts(client: HranaClient) -> None:
    connection = HranaConnection(client)
    connection.execute("BEGIN")
    connection.execute("INSERT INTO t (id) VALUES ('x')")
    assert connection.execute("SELECT id FROM t").fetchall() == [("x",)]
    connection.rollback()
    assert rows(client, "SELECT COUNT(*) FROM t") == [(0,)]


def test_an_insert_that_fails_raises_with_the_next_statement_and_nothing_is_applied(
    client: HranaClient,
) -> None:
    HranaConnection(client).execute("INSERT INTO t (id) VALUES ('dup')")
    connection = HranaConnection(client)
    connection.execute("BEGIN")
    connection.execute("INSERT INTO t (id) VALUES ('new')")
    connection.execute("INSERT INTO t (id) VALUES ('dup')")
    with pytest.raises(ValueError, match="UNIQUE constraint failed"):
        connection.commit()
    assert not connection.in_transaction
    assert isinstance(
        Database.translate_error(ValueError("UNIQUE constraint failed: t.id")),
        Database.IntegrityError,
    )
    assert rows(client, "SELECT id FROM t ORDER BY id") == [("dup",)]


def test_an_atomic_block_that_fails_raises_at_its_end(client: HranaClient) -> None:
    """A savepoint's RELEASE is always sent: the error of an insert waiting inside the block
    is raised there, where ``except IntegrityError`` around the block catches it."""
    HranaConnection(client).execute("INSERT INTO t (id) VALUES ('dup')")
    connection = HranaConnection(client)
    connection.execute("BEGIN")
    connection.execute("SAVEPOINT s")
    connection.execute("INSERT INTO t (id) VALUES ('dup')")
    with pytest.raises(ValueError, match="UNIQUE constraint failed"):
        connection.execute("RELEASE SAVEPOINT s")
    connection.execute("ROLLBACK TO SAVEPOINT s")
    connection.execute("RELEASE SAVEPOINT s")
    connection.execute("INSERT INTO t (id) VALUES ('after')")
    connection.commit()
    assert rows(client, "SELECT id FROM t ORDER BY id") == [("after",), ("dup",)]


def test_a_savepoint_rolled_back_takes_its_inserts_with_it(client: HranaClient) -> None:
    connection = HranaConnection(client)
    connection.execute("BEGIN")
    connection.execute("INSERT INTO t (id) VALUES ('kept')")
    connection.execute("SAVEPOINT s")
    connection.execute("INSERT INTO t (id) VALUES ('undone')")
    connection.execute("ROLLBACK TO SAVEPOINT s")
    connection.execute("RELEASE SAVEPOINT s")
    connection.commit()
    assert rows(client, "SELECT id FROM t") == [("kept",)]


def test_a_transaction_that_sent_nothing_ends_without_a_request(client: HranaClient) -> None:
    connection = HranaConnection(client)
    before = client.requests
    connection.execute("BEGIN")
    connection.execute("INSERT INTO t (id) VALUES ('never')")
    connection.rollback()
    connection.execute("BEGIN")
    connection.commit()
    assert client.requests == before
    assert rows(client, "SELECT COUNT(*) FROM t") == [(0,)]


def test_an_update_is_answered_with_its_row_count(client: HranaClient) -> None:
    connection = HranaConnection(client)
    connection.execute("INSERT INTO t (id, n) VALUES ('a', 1), ('b', 1)")
    connection.execute("BEGIN")
    assert connection.execute("UPDATE t SET n = 2").rowcount == 2
    assert connection.execute("DELETE FROM t WHERE id = 'zz'").rowcount == 0
    connection.commit()
    assert rows(client, "SELECT n FROM t") == [(2,), (2,)]


def test_a_hung_primary_is_unavailable_in_bounded_time(
    client: HranaClient, sqld_server: Server
) -> None:
    connection = HranaConnection(client)
    sqld_server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(Database.Unavailable, match="did not answer") as caught:
            connection.execute("SELECT 1")
        assert time.monotonic() - started < 7  # the read timeout, 5 s
        assert "local replica" not in str(caught.value)
    finally:
        sqld_server.resume()
    assert connection.execute("SELECT 1").fetchall() == [(1,)]
