"""Concurrent writes on two offline instances while the remote is away: after it returns,
both instances converge on one state and the same conflict list, and nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from syncops.devservers import Server, start_turso_sync_server
from tests.live.servers import DemoData, daphnes, manage, prepare_database
from tests.sync.instances import api, sync_env, wait_until


@dataclass
class Pair:
    """Two offline instances of one remote, each served by its own daphne."""

    a: str
    b: str
    demo: DemoData
    remote_file: Path
    port: int
    server: Server

    def call(self, url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return api(url, method, f"/api/spaces/{self.demo.space_id}{path}", self.demo.token, body)

    def thought(self, url: str, key: str) -> dict[str, Any] | None:
        status, body = self.call(url, "GET", f"/thoughts/{key}")
        return body if status == 200 else None

    def keys(self, url: str) -> list[str]:
        items = self.call(url, "GET", "/thoughts?limit=1000")[1]["items"]
        return sorted(item["key"] for item in items)

    def conflicts(self, url: str) -> list[dict[str, Any]]:
        return self.call(url, "GET", "/conflicts?status=all")[1]["items"]

    @contextmanager
    def remote_down(self) -> Iterator[None]:
        """The remote is stopped inside the block, and started again at the same address with
        the same file afterwards."""
        self.server.stop()
        yield
        self.server = start_turso_sync_server(self.remote_file, port=self.port)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    remote_file = tmp_path / "remote" / "remote.db"
    server = start_turso_sync_server(remote_file)
    a = sync_env(tmp_path, "a", "offline", server.url)
    b = sync_env(tmp_path, "b", "offline", server.url)
    demo = prepare_database(a)
    manage(b, "migrate", "--noinput")
    started = Pair("", "", demo, remote_file, server.port, server)
    try:
        with daphnes(a) as (started.a,), daphnes(b) as (started.b,):
            yield started
    finally:
        started.server.stop()


def converged(pair: Pair, predicate: Any, what: str) -> None:
    wait_until(lambda: predicate(pair.a) and predicate(pair.b), timeout=40, what=what)


def test_concurrent_edits_keep_one_version_and_record_the_other(pair: Pair):
    assert pair.call(pair.a, "POST", "/thoughts", {"key": "shared", "title": "v1"})[0] == 201
    converged(pair, lambda url: pair.thought(url, "shared"), "the thought on both")
    with pair.remote_down():
        assert pair.call(pair.a, "PATCH", "/thoughts/shared", {"title": "from A"})[0] == 200
        assert pair.call(pair.b, "PATCH", "/thoughts/shared", {"title": "from B"})[0] == 200
    converged(pair, lambda url: len(pair.conflicts(url)) == 1, "one conflict on both")
    converged(
        pair,
        lambda url: pair.thought(url, "shared")["title"] == pair.thought(pair.a, "shared")["title"],
        "one title on both",
    )
    (conflict,) = pair.conflicts(pair.a)
    assert pair.conflicts(pair.b)[0]["id"] == conflict["id"]
    kept = pair.thought(pair.a, "shared")["title"]
    assert {kept, conflict["lost"]["title"]} == {"from A", "from B"}
    assert conflict["kind"] == "concurrent_edit" and conflict["status"] == "open"

    # Restoring is an ordinary write, and it reaches the other instance like any other.
    status, restored = pair.call(pair.a, "POST", f"/conflicts/{conflict['id']}/restore")
    assert status == 200 and restored["status"] == "restored"
    lost_title = conflict["lost"]["title"]
    converged(
        pair, lambda url: pair.thought(url, "shared")["title"] == lost_title, "the restored title"
    )
    converged(
        pair,
        lambda url: [c["status"] for c in pair.conflicts(url)] == ["restored"],
        "the conflict resolved on both",
    )


def test_one_key_created_on_two_replicas_keeps_both_thoughts(pair: Pair):
    with pair.remote_down():
        assert pair.call(pair.a, "POST", "/thoughts", {"key": "dup", "title": "A's"})[0] == 201
        assert pair.call(pair.b, "POST", "/thoughts", {"key": "dup", "title": "B's"})[0] == 201
        assert pair.call(pair.b, "POST", "/thoughts", {"key": "other", "title": "B2"})[0] == 201
    converged(
        pair,
        lambda url: [c["kind"] for c in pair.conflicts(url)] == ["duplicate_key"],
        "the duplicate-key conflict on both",
    )
    converged(pair, lambda url: pair.keys(url) == pair.keys(pair.b), "same keys")
    keys = pair.keys(pair.a)
    assert pair.keys(pair.b) == keys
    suffixed = [key for key in keys if key.startswith("dup-")]
    assert "dup" in keys and "other" in keys and len(suffixed) == 1
    titles = {pair.thought(pair.a, key)["title"] for key in ["dup", *suffixed]}
    assert titles == {"A's", "B's"}  # neither write was lost
    (conflict,) = pair.conflicts(pair.b)
    assert conflict["kept"]["key"] == suffixed[0]
    # Pushes keep flowing after the refused one.
    assert pair.call(pair.b, "POST", "/thoughts", {"key": "after", "title": "t"})[0] == 201
    converged(pair, lambda url: pair.thought(url, "after"), "a later write on both")


def test_an_edit_of_a_thought_deleted_elsewhere_is_kept_as_a_conflict(pair: Pair):
    assert pair.call(pair.a, "POST", "/thoughts", {"key": "victim", "title": "v1"})[0] == 201
    converged(pair, lambda url: pair.thought(url, "victim"), "the thought on both")
    with pair.remote_down():
        assert pair.call(pair.a, "DELETE", "/thoughts/victim")[0] == 204
        assert pair.call(pair.b, "PATCH", "/thoughts/victim", {"title": "edited on B"})[0] == 200
    converged(
        pair,
        lambda url: [c["kind"] for c in pair.conflicts(url)] == ["edit_of_deleted"],
        "the conflict on both",
    )
    converged(pair, lambda url: pair.thought(url, "victim") is None, "the delete on both")
    (conflict,) = pair.conflicts(pair.a)
    assert conflict["lost"]["title"] == "edited on B"
    assert pair.call(pair.a, "POST", f"/conflicts/{conflict['id']}/restore")[0] == 200
    converged(
        pair,
        lambda url: (pair.thought(url, "victim") or {}).get("title") == "edited on B",
        "the restored thought on both",
    )
