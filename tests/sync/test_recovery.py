"""Automatic recovery from divergence, against real servers: a remote reset to empty, a
primary replaced under an embedded replica, and an unreadable local file. No test runs
``resync``: the instances recover by themselves and nothing written is lost."""

from __future__ import annotations

import shutil
from pathlib import Path

from syncops.devservers import start_sqld, start_turso_sync_server
from tests.live.servers import daphnes, manage, prepare_database
from tests.sync.instances import api, sync_env, wait_until
from tests.sync.instances import keys as stored_keys
from tests.sync.instances import thoughts as stored_thoughts


def thoughts(url: str, token: str, space_id: str) -> list[str] | None:
    """The space's keys; None while the instance answers 503 (in the middle of a rebuild)."""
    status, body = api(url, "GET", f"/api/spaces/{space_id}/thoughts?limit=1000", token)
    if status == 503:
        return None
    assert status == 200, body
    return sorted(item["key"] for item in body["items"])


def post(url: str, token: str, space_id: str, key: str) -> int:
    body = {"key": key, "title": key}
    return api(url, "POST", f"/api/spaces/{space_id}/thoughts", token, body, 5)[0]


def status_of(url: str, token: str) -> dict:
    """The sync status; empty while the instance answers 503 (in the middle of a rebuild)."""
    status, body = api(url, "GET", "/api/sync/status", token)
    return body if status == 200 else {}


def quarantined(env: dict[str, str]) -> list[Path]:
    folder = Path(env["THOUGHTSPACE_DB_PATH"]).parent / "quarantine"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_remote_reset_to_empty_is_reseeded_and_both_replicas_keep_their_writes(
    tmp_path: Path,
):
    remote_file = tmp_path / "remote" / "remote.db"
    server = start_turso_sync_server(remote_file)
    port = server.port
    a = sync_env(tmp_path, "a", "offline", server.url)
    b = sync_env(tmp_path, "b", "offline", server.url)
    demo = prepare_database(a)
    manage(b, "migrate", "--noinput")
    try:
        with daphnes(a) as (url_a,), daphnes(b) as (url_b,):
            assert post(url_a, demo.token, demo.space_id, "before-reset") == 201
            wait_until(
                lambda: "before-reset" in thoughts(url_b, demo.token, demo.space_id),
                what="the first write on B",
            )
            server.stop()
            assert post(url_b, demo.token, demo.space_id, "only-on-b") == 201
            shutil.move(remote_file.parent, tmp_path / "old-remote")  # the remote is gone
            server = start_turso_sync_server(remote_file, port=port)  # empty, same address
            assert post(url_a, demo.token, demo.space_id, "after-reset") == 201
            expected = sorted(
                {*(thoughts(url_a, demo.token, demo.space_id) or []), "only-on-b", "after-reset"}
            )
            wait_until(
                lambda: (
                    thoughts(url_a, demo.token, demo.space_id) == expected
                    and thoughts(url_b, demo.token, demo.space_id) == expected
                ),
                timeout=60,
                what="both replicas to recover and converge",
            )
            for url, env in ((url_a, a), (url_b, b)):
                state = status_of(url, demo.token)
                assert state["recoveries"] >= 1 and "Recovered" in state["last_recovery"]
                (folder, *_) = quarantined(env)
                assert (folder / "ts.db").exists()
                assert "epoch" in (folder / "REASON.txt").read_text()
            wait_until(
                lambda: (
                    status_of(url_a, demo.token).get("pending_changes") == 0
                    and status_of(url_b, demo.token).get("pending_changes") == 0
                ),
                what="everything pushed",
            )
        # A new replica of the reseeded remote holds everything.
        c = sync_env(tmp_path, "c", "offline", server.url)
        manage(c, "migrate", "--noinput")
        assert stored_keys(c) == expected
    finally:
        server.stop()


def test_a_replaced_primary_is_reseeded_from_an_embedded_replica(tmp_path: Path):
    server = start_sqld(tmp_path / "sqld")
    port = server.port
    a = sync_env(tmp_path, "a", "replica", server.url)
    demo = prepare_database(a)
    try:
        with daphnes(a) as (url_a,):
            keys = thoughts(url_a, demo.token, demo.space_id)
            server.stop()
            server = start_sqld(tmp_path / "sqld-new", port=port)  # a new, empty primary
            wait_until(
                lambda: status_of(url_a, demo.token).get("recoveries", 0) >= 1,
                timeout=60,
                what="the replica to recover",
            )
            assert thoughts(url_a, demo.token, demo.space_id) == keys
            assert post(url_a, demo.token, demo.space_id, "after-recovery") == 201
            assert quarantined(a)
        c = sync_env(tmp_path, "c", "remote", server.url)
        assert stored_keys(c) == sorted([*keys, "after-recovery"])  # from the new primary
    finally:
        server.stop()


def test_an_unreadable_local_file_is_rebuilt_and_unpushed_writes_are_replayed(tmp_path: Path):
    remote_file = tmp_path / "remote" / "remote.db"
    server = start_turso_sync_server(remote_file)
    port = server.port
    a = sync_env(tmp_path, "a", "offline", server.url)
    demo = prepare_database(a)
    try:
        with daphnes(a) as (url_a,):
            wait_until(lambda: status_of(url_a, demo.token).get("pending_changes") == 0)
            server.stop()
            for key in ("unpushed-1", "unpushed-2"):
                assert post(url_a, demo.token, demo.space_id, key) == 201
        database = Path(a["THOUGHTSPACE_DB_PATH"])
        for path in database.parent.glob("ts.db*"):
            if path.name in {"ts.db", "ts.db-wal"}:
                path.write_bytes(b"this is not a database" * 100)
        server = start_turso_sync_server(remote_file, port=port)
        with daphnes(a) as (url_a,):
            wait_until(
                lambda: (
                    {"unpushed-1", "unpushed-2"}
                    <= set(thoughts(url_a, demo.token, demo.space_id) or [])
                ),
                timeout=60,
                what="the journaled writes to be replayed",
            )
            assert quarantined(a)
        c = sync_env(tmp_path, "c", "offline", server.url)
        manage(c, "migrate", "--noinput")
        assert stored_thoughts(c) == stored_thoughts(a)
    finally:
        server.stop()


# The other copy also holds one of the local copy's thoughts, changed: a row both sides hold.
SAME_THOUGHT_CHANGED = """
from django.contrib.auth.models import User
from spaces.models import Space, Thought
space = Space.objects.create(
    id={space!r}, owner=User.objects.get(username="demo"), title="Demo space"
)
Thought.objects.create(id={thought!r}, space=space, key="sync", title="the remote's version")
"""


def test_resync_prefer_local_puts_the_local_copy_over_a_replaced_remote(tmp_path: Path):
    remote_file = tmp_path / "remote" / "remote.db"
    server = start_turso_sync_server(remote_file)
    port = server.port
    a = sync_env(tmp_path, "a", "offline", server.url)
    prepare_database(a)
    manage(a, "sync")
    try:
        server.stop()
        shutil.move(remote_file.parent, tmp_path / "old-remote")
        server = start_turso_sync_server(remote_file, port=port)  # replaced...
        b = sync_env(tmp_path, "b", "offline", server.url)
        prepare_database(b)  # ...and filled from another copy
        rows_a = stored_thoughts(a)
        (shared,) = [row for row in rows_a if row[2] == "sync"]
        code = SAME_THOUGHT_CHANGED.format(space=shared[1], thought=shared[0])
        manage(b, "shell", "--no-imports", "-c", code)
        manage(b, "sync")
        rows_b = stored_thoughts(b)
        assert [shared[0], shared[1], "sync", "the remote's version"] in rows_b
        plan = manage(a, "resync", "--dry-run")
        assert "nothing was changed" in plan and "remote epoch" in plan
        assert not quarantined(a)
        output = manage(a, "resync", "--prefer", "local")
        assert "Rebuilt" in output and "wrote the local copy" in output
        assert quarantined(a)
        c = sync_env(tmp_path, "c", "offline", server.url)
        manage(c, "migrate", "--noinput")
        # Every row of both copies, and the local version of the row both held.
        expected = {row[0]: row for row in rows_b} | {row[0]: row for row in rows_a}
        assert stored_thoughts(c) == sorted(expected.values()) == stored_thoughts(a)
        assert shared in stored_thoughts(c)
    finally:
        server.stop()
