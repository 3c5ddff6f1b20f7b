"""Offline mode against a real tursodb sync server: local writes, background push and pull."""

from __future__ import annotations

import json
from pathlib import Path

from syncops.devservers import Server, start_turso_sync_server
from tests.live.servers import daphnes, manage, prepare_database
from tests.sync.instances import api, keys, sync_env, thoughts, wait_until

THREADED_WRITES = """
import threading
from django.db import connection
from spaces import services
from spaces.models import Space, Thought
from django.contrib.auth.models import User

space = Space.objects.get(title="Demo space")
user = User.objects.get(username="demo")
errors = []

def write(worker):
    try:
        for index in range(25):
            services.thought_create(space=space, actor=user, key=f"w{worker}-{index}", title="t")
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()

threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("ERRORS", errors)
print("COUNT", Thought.objects.filter(key__startswith="w").count())
"""


SLOW_RECONCILIATION = """
import time
from django.db import connections
from syncops import reconcile, runtime

replica = runtime.replica_for(connections["default"].settings_dict)
runtime.ensure_started(replica)
scheduler = replica.scheduler
assert scheduler.fresh_pull(30)
with reconcile._lock:  # a reconciliation that takes long: the next ones wait for it
    before = replica.state.pulls
    pulled = [scheduler.fresh_pull(10) for _ in range(3)]
    print("PULLED", pulled, replica.state.pulls - before)
    print("BEHIND", replica.state.reconciled_pulls < replica.state.pulls)
deadline = time.monotonic() + 30
while replica.state.reconciled_pulls < before + 3 and time.monotonic() < deadline:
    time.sleep(0.05)
print("CAUGHT UP", replica.state.reconciled_pulls >= before + 3)
"""


def thoughts_url(space_id: str, key: str = "") -> str:
    return f"/api/spaces/{space_id}/thoughts" + (f"/{key}" if key else "")


def test_a_write_on_one_instance_is_readable_on_another(turso_server: Server, tmp_path: Path):
    a = sync_env(tmp_path, "a", "offline", turso_server.url)
    b = sync_env(tmp_path, "b", "offline", turso_server.url)
    demo = prepare_database(a)
    assert "No migrations to apply" in manage(b, "migrate", "--noinput")  # schema came from A
    with daphnes(a) as (url_a,), daphnes(b) as (url_b,):
        body = {"key": "from-a", "title": "Written on A"}
        assert api(url_a, "POST", thoughts_url(demo.space_id), demo.token, body)[0] == 201
        status, thought = wait_until(
            lambda: (
                (r := api(url_b, "GET", thoughts_url(demo.space_id, "from-a"), demo.token))
                and r[0] == 200
                and r
            ),
            what="the thought on B",
        )
        assert thought["title"] == "Written on A"


def test_writes_answer_while_the_remote_is_hung_and_reach_it_later(
    turso_server: Server, tmp_path: Path
):
    a = sync_env(tmp_path, "a", "offline", turso_server.url)
    demo = prepare_database(a)
    with daphnes(a) as (url_a,):
        turso_server.pause()  # SIGSTOP: connections hang instead of failing
        try:
            for index in range(5):
                body = {"key": f"hung-{index}", "title": "t"}
                # A 3 s client timeout: far below the 10 s the push waits on the hung server.
                assert (
                    api(url_a, "POST", thoughts_url(demo.space_id), demo.token, body, 3)[0] == 201
                )
            status = api(url_a, "GET", "/api/sync/status", demo.token, timeout=3)[1]
            assert status["pending_changes"] > 0
        finally:
            turso_server.resume()
        wait_until(
            lambda: api(url_a, "GET", "/api/sync/status", demo.token)[1]["pending_changes"] == 0,
            timeout=30,
            what="the backlog to drain",
        )
    b = sync_env(tmp_path, "b", "offline", turso_server.url)
    manage(b, "migrate", "--noinput")
    assert thoughts(b) == thoughts(a)


def test_a_killed_remote_shows_as_an_error_and_the_backlog_drains_on_return(tmp_path: Path):
    remote_file = tmp_path / "remote" / "remote.db"
    server = start_turso_sync_server(remote_file)
    port = server.port
    a = sync_env(tmp_path, "a", "offline", server.url)
    demo = prepare_database(a)
    with daphnes(a) as (url_a,):
        server.stop()
        for index in range(5):
            body = {"key": f"down-{index}", "title": "t"}
            assert api(url_a, "POST", thoughts_url(demo.space_id), demo.token, body, 3)[0] == 201
        # A pull due at the moment may fail first; then the writes' push does, and pushes are
        # retried (no pull in between) until the remote is back.
        status = wait_until(
            lambda: (
                (s := api(url_a, "GET", "/api/sync/status", demo.token)[1])
                and not s["healthy"]
                and (s["last_error"] or "").startswith("push failed")  # refused, or reset
                and s
            ),
            what="the push's failure to show",
        )
        assert status["pending_changes"] >= 5
        with start_turso_sync_server(remote_file, port=port):
            wait_until(
                lambda: (
                    (s := api(url_a, "GET", "/api/sync/status", demo.token)[1])
                    and s["healthy"]
                    and s["pending_changes"] == 0
                ),
                timeout=60,
                what="the backlog to drain after the remote returned",
            )
            items = api(url_a, "GET", thoughts_url(demo.space_id), demo.token)[1]["items"]
            on_a = sorted(item["key"] for item in items)
            b = sync_env(tmp_path, "b", "offline", f"http://127.0.0.1:{port}")
            manage(b, "migrate", "--noinput")
            assert keys(b) == on_a
            assert {f"down-{index}" for index in range(5)} <= set(on_a)


def test_sync_commands_ask_the_running_server(turso_server: Server, tmp_path: Path):
    a = sync_env(tmp_path, "a", "offline", turso_server.url)
    prepare_database(a)
    with daphnes(a):
        assert "by the running server" in manage(a, "sync")
        state = json.loads(manage(a, "sync_status", "--json"))
        assert state["source"].startswith("server pid") and state["mode"] == "offline"
        assert "127.0.0.1" in state["remote_url"]


def test_eight_threads_write_while_the_worker_syncs(turso_server: Server, tmp_path: Path):
    a = sync_env(tmp_path, "a", "offline", turso_server.url)
    prepare_database(a)
    output = manage(a, "shell", "--no-imports", "-c", THREADED_WRITES)
    assert "ERRORS []" in output and "COUNT 200" in output
    b = sync_env(tmp_path, "b", "offline", turso_server.url)
    manage(b, "migrate", "--noinput")
    assert thoughts(b) == thoughts(a)


def test_the_workers_pulls_do_not_wait_for_reconciliation(turso_server: Server, tmp_path: Path):
    """A pull makes the pulled writes readable; reconciling the journal after it runs on a
    thread of its own, so a slow one holds up no pull, and catches up with them after."""
    a = sync_env(tmp_path, "a", "offline", turso_server.url)
    prepare_database(a)
    output = manage(a, "shell", "--no-imports", "-c", SLOW_RECONCILIATION)
    assert "PULLED [True, True, True] 3" in output, output
    assert "BEHIND True" in output and "CAUGHT UP True" in output, output


def test_resync_dry_run_changes_nothing_and_resync_keeps_every_row(
    turso_server: Server, tmp_path: Path
):
    a = sync_env(tmp_path, "a", "offline", turso_server.url)
    prepare_database(a)
    database = Path(a["THOUGHTSPACE_DB_PATH"])
    before = {path.name: path.stat().st_mtime_ns for path in database.parent.glob("ts.db*")}
    rows = thoughts(a)
    assert "nothing was changed" in manage(a, "resync", "--dry-run")
    after = {path.name: path.stat().st_mtime_ns for path in database.parent.glob("ts.db*")}
    assert {k: v for k, v in after.items() if not k.endswith(".sock")} == {
        k: v for k, v in before.items() if not k.endswith(".sock")
    }
    output = manage(a, "resync")
    assert "Rebuilt" in output
    (folder,) = (database.parent / "quarantine").iterdir()
    assert (folder / "ts.db").exists() and (folder / "REASON.txt").exists()
    assert thoughts(a) == rows


def test_an_event_relayed_by_another_instance_finds_the_change_there(
    turso_server: Server, tmp_path: Path
):
    """B pulls before relaying A's event, so a client of B can fetch what it was told of."""
    import asyncio

    from websockets.asyncio.client import connect

    from tests.live.servers import redis_server, ws_url

    with redis_server() as redis_url:
        a = {**sync_env(tmp_path, "a", "offline", turso_server.url), "TURSO_SYNC_INTERVAL": "60"}
        b = {**sync_env(tmp_path, "b", "offline", turso_server.url), "TURSO_SYNC_INTERVAL": "60"}
        a["THOUGHTSPACE_REDIS_URL"] = b["THOUGHTSPACE_REDIS_URL"] = redis_url
        demo = prepare_database(a)
        manage(b, "migrate", "--noinput")
        with daphnes(a) as (url_a,), daphnes(b) as (url_b,):

            async def scenario() -> tuple[dict, int]:
                headers = {"Authorization": f"Bearer {demo.token}"}
                async with connect(ws_url(url_b, demo.space_id), additional_headers=headers) as ws:
                    body = {"key": "relayed", "title": "From A"}
                    await asyncio.to_thread(
                        api, url_a, "POST", thoughts_url(demo.space_id), demo.token, body
                    )
                    while True:
                        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                        if event.get("key") == "relayed":
                            break
                # With a 60 s pull interval, only the pull before relaying can explain this.
                path = thoughts_url(demo.space_id, "relayed")
                status = (await asyncio.to_thread(api, url_b, "GET", path, demo.token))[0]
                return event, status

            event, status = asyncio.run(scenario())
    assert event["type"] == "node.created"
    assert status == 200


TOMBSTONE_AFTER_PULL = """
from django.contrib.auth.models import User
from django.db import connection
from spaces import services
from spaces.models import Space, Thought
from syncops.replica import replica_for

replica = replica_for(connection.settings_dict)
space = Space.objects.get(title="Demo space")
user = User.objects.get(username="demo")
STEP
"""


def in_shell(env: dict[str, str], step: str) -> str:
    return manage(env, "shell", "--no-imports", "-c", TOMBSTONE_AFTER_PULL.replace("STEP", step))


def test_a_delete_after_a_pull_that_rebased_the_file_leaves_a_tombstone_everywhere(
    turso_server: Server, tmp_path: Path
):
    """The engine drops a file's own triggers when a pull rebases it; the TEMP triggers of the
    writing connections still record the delete, and the tombstone replicates."""
    a = sync_env(tmp_path, "a", "offline", turso_server.url)
    b = sync_env(tmp_path, "b", "offline", turso_server.url)
    prepare_database(a)
    manage(b, "migrate", "--noinput")
    in_shell(b, "services.thought_create(space=space, actor=user, key='on-b', title='B')")
    in_shell(a, "services.thought_create(space=space, actor=user, key='on-a', title='A')")
    output = in_shell(
        b,
        "print('CHANGED', replica.pull())\n"
        "services.thought_delete(thought=Thought.objects.get(key='on-b'), actor=user)\n"
        "print('TRIGGERS', connection.cursor().execute("
        "\"SELECT count(*) FROM sqlite_master WHERE type = 'trigger'\").fetchone()[0])\n"
        "replica.push()",
    )
    assert "CHANGED True" in output and "TRIGGERS 0" in output  # the file has none of its own
    found = in_shell(
        a,
        "replica.pull()\n"
        "print('TOMBSTONES', connection.cursor().execute("
        "'SELECT tbl FROM syncops_tombstone ORDER BY tbl').fetchall())",
    )
    assert "('spaces_thought',)" in found.split("TOMBSTONES", 1)[1]
    assert "on-a" in keys(a) and "on-b" not in keys(a)
