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


# The replica-mode soak's last errors: sqld answered "snapshot not found" to the replica's
# catch-up after a forwarded statement, about twice a minute (tursodatabase/libsql#1310).
# libSQL raises it after the primary answered (RemoteConnection::execute_remote): a COMMIT
# that raises it was applied and leaves the connection in autocommit; a statement inside a
# transaction that raises it leaves the transaction open on the primary. The doubles below
# do exactly that on the real connection to a real sqld.
SNAPSHOT_PENDING = (
    SHARED_CONNECTION
    + """
PENDING = ValueError("Replication error: snapshot not found (injected)")


class Pending:
    # The shared connection; the next COMMIT (FAIL_AT == "commit") or INSERT of a thought
    # (FAIL_AT == "statement") runs on the primary and then raises as libSQL's catch-up does.
    # With SYNC_FAILS, the replica's next catch-ups fail the same way (the snapshot is still
    # being made), so the write must wait for it.
    failed = False
    sync_fails = SYNC_FAILS

    def __getattr__(self, name):
        return getattr(shared, name)

    def cursor(self):
        outer = self

        class Cursor:
            def __init__(self, cursor):
                self.cursor = cursor

            def __getattr__(self, name):
                return getattr(self.cursor, name)

            def execute(self, sql, *args):
                result = self.cursor.execute(sql, *args)
                if FAIL_AT == "statement" and sql.startswith('INSERT INTO "spaces_thought"'):
                    if not Pending.failed:
                        Pending.failed = True
                        raise PENDING
                return result

        return Cursor(shared.cursor())

    def commit(self):
        shared.commit()
        if FAIL_AT == "commit" and not Pending.failed:
            Pending.failed = True
            raise PENDING

    def sync(self):
        if Pending.failed and Pending.sync_fails:
            Pending.sync_fails -= 1
            raise PENDING
        return shared.sync()


replica._sync_connection = Pending()
"""
)


@pytest.mark.parametrize("sync_fails", [0, 3])
def test_a_commit_whose_catch_up_failed_is_a_write_that_happened(
    sqld_server: Server, tmp_path: Path, sync_fails: int
):
    """It was answered 503 "may or may not have been applied", for a write the primary had
    committed; now the write succeeds, and the replica catches up before the response, even
    when the snapshot takes a few tries."""
    a = sync_env(tmp_path, "a", "replica", sqld_server.url)
    prepare_database(a)
    script = (
        f"FAIL_AT = 'commit'\nSYNC_FAILS = {sync_fails}\n"
        + SNAPSHOT_PENDING
        + """
services.thought_create(space=space, actor=user, key="applied", title="A")
print("FAILED", Pending.failed, "SYNCS LEFT", Pending.sync_fails)
print("LOCAL", Thought.objects.filter(key="applied").count())
services.thought_create(space=space, actor=user, key="after", title="B")
print("KEYS", sorted(Thought.objects.values_list("key", flat=True)))
"""
    )
    output = manage(a, "shell", "--no-imports", "-c", script)
    assert "FAILED True SYNCS LEFT 0" in output, output
    assert "LOCAL 1" in output, output  # read from the replica file, right after the write
    found = output.split("KEYS", 1)[1]
    assert "'applied'" in found and "'after'" in found, output


def test_a_request_whose_statement_lost_its_catch_up_runs_again_and_writes_once(
    sqld_server: Server, tmp_path: Path
):
    """A statement inside the transaction raised it: the transaction ends with the dropped
    connection (nothing applied), and the server runs the request again before it answers,
    so the client sees 201 and the thought exists once."""
    a = sync_env(tmp_path, "a", "replica", sqld_server.url)
    demo = prepare_database(a)
    script = (
        "FAIL_AT = 'statement'\nSYNC_FAILS = 0\n"
        + SNAPSHOT_PENDING
        + f"""
from django.test import Client
client = Client(HTTP_AUTHORIZATION="Bearer {demo.token}", HTTP_HOST="127.0.0.1")
response = client.post(
    "/api/spaces/{demo.space_id}/thoughts", {{"key": "once", "title": "O"}},
    content_type="application/json",
)
print("STATUS", response.status_code, "FAILED", Pending.failed)
print("ONCE", Thought.objects.filter(key="once").count())
"""
    )
    output = manage(a, "shell", "--no-imports", "-c", script)
    assert "STATUS 201 FAILED True" in output, output
    assert "ONCE 1" in output, output
    on_primary = sync_env(tmp_path, "b", "replica", sqld_server.url)
    assert [row[2] for row in thoughts(on_primary)].count("once") == 1
