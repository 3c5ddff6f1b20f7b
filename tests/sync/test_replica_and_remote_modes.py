"""Replica and remote modes against a real sqld primary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncops.devservers import Server
from tests.live.servers import daphnes, manage, prepare_database
from tests.sync.instances import api, keys, sync_env, thoughts


def test_replica_writes_reach_the_primary_and_other_replicas(sqld_server: Server, tmp_path: Path):
    a = sync_env(tmp_path, "a", "replica", sqld_server.url)
    b = sync_env(tmp_path, "b", "replica", sqld_server.url)
    demo = prepare_database(a)
    with daphnes(a) as (url_a,):
        body = {"key": "from-a", "title": "Written on A"}
        path = f"/api/spaces/{demo.space_id}/thoughts"
        assert api(url_a, "POST", path, demo.token, body)[0] == 201
        # Read-your-writes: the replica synced before the response.
        assert api(url_a, "GET", f"{path}/from-a", demo.token)[0] == 200
        status = api(url_a, "GET", "/api/sync/status", demo.token)[1]
        assert status["mode"] == "replica" and status["healthy"]
    assert thoughts(b) == thoughts(a)  # a new replica takes everything from the primary
    assert [row[3] for row in thoughts(b) if row[2] == "from-a"] == ["Written on A"]


def test_remote_mode_reads_and_writes_the_primary_with_no_local_file(
    sqld_server: Server, tmp_path: Path
):
    remote = sync_env(tmp_path, "r", "remote", sqld_server.url)
    demo = prepare_database(remote)
    with daphnes(remote) as (url,):
        path = f"/api/spaces/{demo.space_id}/thoughts"
        assert api(url, "POST", path, demo.token, {"key": "r1", "title": "R"})[0] == 201
        on_remote = sorted(item["key"] for item in api(url, "GET", path, demo.token)[1]["items"])
    assert "r1" in on_remote
    replica = sync_env(tmp_path, "a", "replica", sqld_server.url)
    assert keys(replica) == on_remote
    assert not Path(remote["THOUGHTSPACE_DB_PATH"]).exists()
    state = json.loads(manage(remote, "sync_status", "--json"))
    assert state["mode"] == "remote"


def test_a_missing_remote_url_fails_at_start_naming_the_variable(tmp_path: Path):
    env = sync_env(tmp_path, "a", "offline", "")
    try:
        manage(env, "check")
    except RuntimeError as error:
        assert "TURSO_DATABASE_URL" in str(error)
    else:
        raise AssertionError("check passed without TURSO_DATABASE_URL")


def test_replica_refuses_writes_fast_and_keeps_reading_while_the_primary_hangs(
    sqld_server: Server, tmp_path: Path
):
    a = sync_env(tmp_path, "a", "replica", sqld_server.url)
    demo = prepare_database(a)
    path = f"/api/spaces/{demo.space_id}/thoughts"
    with daphnes(a) as (url_a,):
        assert api(url_a, "GET", path, demo.token)[0] == 200  # a pooled connection exists
        sqld_server.pause()  # SIGSTOP: the primary accepts connections and never answers
        try:
            # 4 s client timeouts: a call into the hung primary would never return.
            assert api(url_a, "GET", path, demo.token, timeout=4)[1]["count"] == 5
            status, body = api(url_a, "POST", path, demo.token, {"key": "x", "title": "X"}, 4)
            assert status == 503
            assert "did not answer" in body["detail"] and "reads keep working" in body["detail"]
            state = api(url_a, "GET", "/api/sync/status", demo.token, timeout=4)[1]
            assert state["healthy"] is False and "unreachable" in state["last_error"]
        finally:
            sqld_server.resume()
        status, _ = api(url_a, "POST", path, demo.token, {"key": "x", "title": "X"})
        assert status == 201


def test_writes_syncs_and_reads_of_one_replica_file_keep_it_intact(
    sqld_server: Server, tmp_path: Path
):
    """Writes on the replica's write connection, under the backend's write lock, in one
    thread; the replica's pulls in another; reads on the connections it hands out (plain,
    read-only) in two more, for 3 s: the file survives. With a second syncing connection it
    broke within seconds (scripts/probes/libsql_write_sync_race.py)."""
    import threading
    import time

    from syncops.replica import LibsqlReplica

    replica = LibsqlReplica(str(tmp_path / "replica.db"), url=sqld_server.url)
    reader = replica.connect()
    with replica.write_lock:
        replica.writer_for(reader).execute("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)")
    replica.committed_write(reader)
    errors: list[str] = []
    reads = [0]
    stop = time.monotonic() + 3

    def write() -> None:
        index = 0
        while time.monotonic() < stop and not errors:
            with replica.write_lock:
                connection = replica.writer_for(reader)
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    connection.execute("INSERT INTO t VALUES (?, 'v')", (f"row-{index}",))
                    connection.execute("COMMIT")
                except Exception as exc:
                    errors.append(f"write: {exc}")
            index += 1

    def pull() -> None:
        while time.monotonic() < stop and not errors:
            try:
                replica.pull(check=False)
            except Exception as exc:
                errors.append(f"pull: {exc}")

    def read() -> None:
        while time.monotonic() < stop and not errors:
            connection = replica.connect()
            try:
                connection.execute("SELECT COUNT(*) FROM t").fetchall()
                reads[0] += 1
            except Exception as exc:
                errors.append(f"read: {exc}")
            replica.release(connection)

    threads = [threading.Thread(target=target) for target in (write, pull, read, read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    replica.pull(check=False)
    assert reader.execute("SELECT COUNT(*) FROM t").fetchall()[0][0] > 10
    assert reads[0] > 10
    assert reader.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# A replica-mode shell script's start: one write opens the connection all writers share.
SHARED_CONNECTION = """
from django.contrib.auth.models import User
from django.db import connection
from spaces import services
from spaces.models import Space, Thought
from syncops.replica import replica_for

replica = replica_for(connection.settings_dict)
space = Space.objects.get(title="Demo space")
user = User.objects.get(username="demo")
services.thought_create(space=space, actor=user, key="before", title="B")  # opens it
shared = replica._sync_connection
"""

FAILED_COMMIT = (
    SHARED_CONNECTION
    + """

class CommitFailsOnce:
    # The shared connection, whose next COMMIT fails as one did when sqld answered "snapshot
    # not found": the transaction stays open on the primary.
    failed = False

    def __getattr__(self, name):
        return getattr(shared, name)

    def commit(self):
        if not CommitFailsOnce.failed:
            CommitFailsOnce.failed = True
            raise ValueError("replication error: the commit failed (injected)")
        return shared.commit()


replica._sync_connection = CommitFailsOnce()
try:
    services.thought_create(space=space, actor=user, key="lost", title="L")
except Exception as exc:
    print("FIRST", type(exc).__name__)
services.thought_create(space=space, actor=user, key="after", title="A")
print("KEYS", sorted(Thought.objects.values_list("key", flat=True)))
"""
)


STUCK_TRANSACTION = (
    SHARED_CONNECTION
    + """

class FailingCursor:
    # A statement that reached the primary, then the replica's catch-up failed.
    def __init__(self, cursor):
        self.cursor = cursor

    def __getattr__(self, name):
        return getattr(self.cursor, name)

    def execute(self, sql, *args):
        result = self.cursor.execute(sql, *args)
        if sql.startswith('INSERT INTO "spaces_thought"'):
            if FAIL_AT == "invalid":
                raise ValueError("connection has reached an invalid state, started with Txn")
            raise ValueError("replication error: snapshot not found (injected)")
        return result


class Stuck:
    # The shared connection as the soak left it after sqld answered "snapshot not found" to
    # the COMMIT (FAIL_AT == "commit") or to a statement: the ROLLBACK returns (or fails),
    # and the transaction stays open on the primary.
    def __getattr__(self, name):
        return getattr(shared, name)

    def cursor(self):
        cursor = shared.cursor()
        return FailingCursor(cursor) if FAIL_AT in ("statement", "invalid") else cursor

    def commit(self):
        if FAIL_AT == "commit":
            raise ValueError("replication error: snapshot not found (injected)")
        return shared.commit()

    def rollback(self):
        if ROLLBACK_RAISES:
            raise ValueError("connection has reached an invalid state, started with Txn")
        # As in the soak: the ROLLBACK returns, and the transaction is still open.


replica._sync_connection = Stuck()
try:
    services.thought_create(space=space, actor=user, key="lost", title="L")
except Exception as exc:
    print("FIRST", type(exc).__name__, exc)
for attempt in range(3):
    try:
        services.thought_create(space=space, actor=user, key=f"after{attempt}", title="A")
        print("WROTE", attempt)
    except Exception as exc:
        print("FAILED", attempt, type(exc).__name__, exc)
print("KEYS", sorted(Thought.objects.values_list("key", flat=True)))
"""
)


@pytest.mark.parametrize(
    ("fail_at", "rollback_raises"),
    [("commit", False), ("commit", True), ("statement", False), ("invalid", False)],
)
def test_a_transaction_that_cannot_be_ended_does_not_poison_the_shared_connection(
    sqld_server: Server, tmp_path: Path, fail_at: str, rollback_raises: bool
):
    """In the replica-mode soak, a COMMIT and then the ROLLBACK failed on the connection all
    of the process's writes share, the transaction stayed open on the primary, and 5,000
    later writes failed with "cannot start a transaction within a transaction". The
    connection is dropped instead, and the next write opens another."""
    a = sync_env(tmp_path, "a", "replica", sqld_server.url)
    prepare_database(a)
    script = f"ROLLBACK_RAISES = {rollback_raises}\nFAIL_AT = {fail_at!r}\n" + STUCK_TRANSACTION
    output = manage(a, "shell", "--no-imports", "-c", script)
    assert "FIRST OperationalError" in output, output
    assert "WROTE 0" in output, output
    found = output.split("KEYS", 1)[1]
    assert all(f"'after{n}'" in found for n in range(3)) and "'lost'" not in found, output


def test_a_failed_commit_does_not_leave_the_shared_connection_in_a_transaction(
    sqld_server: Server, tmp_path: Path
):
    """Seen in the replica-mode soak: after one COMMIT failed, every later write failed with
    "cannot start a transaction within a transaction" until the server was restarted."""
    a = sync_env(tmp_path, "a", "replica", sqld_server.url)
    prepare_database(a)
    output = manage(a, "shell", "--no-imports", "-c", FAILED_COMMIT)
    assert "FIRST OperationalError" in output
    found = output.split("KEYS", 1)[1]
    assert "'after'" in found and "'before'" in found and "'lost'" not in found
