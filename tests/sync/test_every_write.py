"""Every replicated table is written safely, not only thoughts: users, shares, deletes, links
and space edits made on two offline replicas cut off from the remote converge to the same
content everywhere, and nothing acknowledged is lost, resurrected or handed to someone else.

Each test runs a fresh tursodb remote and two offline instances behind cuttable proxies
(tests/sync/cluster.py) and checks content: which rows, with which values, on which replica.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live.servers import DemoData
from tests.sync.cluster import Cluster, Instance
from tests.sync.instances import wait_until

SHARED_USER = "ursula"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoData]:
    """The files of a migrated cluster with the demo data and one more user, made once."""
    root = tmp_path_factory.mktemp("prepared")
    cluster = Cluster.prepare(root, users=(SHARED_USER,))
    cluster.close()
    return root, cluster.demo


@pytest.fixture
def cluster(prepared: tuple[Path, DemoData], tmp_path: Path) -> Iterator[Cluster]:
    started = Cluster.copy_of(*prepared, tmp_path / "cluster")
    try:
        yield started
    finally:
        started.close()


def password(username: str) -> str:
    return f"{username}-password"


def create_user(username: str, secret: str | None = None) -> str:
    """Shell code that creates a user the way an operator would, in the instance's process."""
    return (
        "from django.contrib.auth.models import User\n"
        f"User.objects.create_user({username!r}, password={secret or password(username)!r})\n"
    )


SHARE_WITH = """
from django.contrib.auth.models import User
from spaces import services
from spaces.models import Space
space = Space.objects.get(pk={space!r})
services.space_share(
    space=space, actor=User.objects.get(username="demo"), username={username!r}, role="viewer"
)
"""

USERS = """
import json
from django.contrib.auth.models import User
print("USERS", json.dumps(sorted([u.pk, u.username] for u in User.objects.all())))
"""


def users_of(instance: Instance) -> list[list[Any]]:
    """[id, username] of every user in the instance's replica, read by a process of its own."""
    output = instance.shell(USERS)
    return json.loads(output.split("USERS ", 1)[1])


def remote_users(cluster: Cluster) -> list[list[Any]]:
    return sorted(
        [pk, name] for pk, name in cluster.remote_rows("SELECT id, username FROM auth_user")
    )


def space_path(cluster: Cluster, tail: str = "") -> str:
    return f"/api/spaces/{cluster.demo.space_id}{tail}"


def call(cluster: Cluster, instance: Instance, method: str, tail: str, body: Any = None) -> Any:
    """A call as the demo user (the space's owner) that must answer 2xx; returns the body."""
    status, data = instance.api(cluster.demo.token, method, space_path(cluster, tail), body)
    assert status < 300, f"{method} {tail} on {instance} answered {status}: {data}"
    return data


def keys(cluster: Cluster, instance: Instance) -> list[str]:
    items = call(cluster, instance, "GET", "/thoughts?limit=1000")["items"]
    return sorted(item["key"] for item in items)


def remote_keys(cluster: Cluster) -> list[str]:
    rows = cluster.remote_rows(
        f"SELECT key FROM spaces_thought WHERE space_id = '{cluster.demo.space_id}'"
    )
    return sorted(key for (key,) in rows)


def conflicts(cluster: Cluster, instance: Instance) -> list[dict[str, Any]]:
    return call(cluster, instance, "GET", "/conflicts?status=all&limit=1000")["items"]


def conflict_keeping(cluster: Cluster, action: str, lost_text: str, *, what: str) -> dict[str, Any]:
    """The one conflict, the same on both replicas, that keeps the lost ``action`` whose lost
    version mentions ``lost_text``."""
    found = {}
    for instance in cluster:
        listed = conflicts(cluster, instance)
        matching = [
            c for c in listed if c["action"] == action and lost_text in json.dumps(c["lost"])
        ]
        assert matching, (
            f"{what} is in no conflict on {instance}; its conflicts: {listed}; "
            f"the space's history on each replica: {histories(cluster)}"
        )
        found[instance.name] = matching
    assert [c["id"] for c in found["a"]] == [c["id"] for c in found["b"]], (
        f"the replicas list different conflicts for {what}: {found}"
    )
    return found["a"][0]


def histories(cluster: Cluster) -> dict[str, list[tuple[Any, ...]]]:
    """What a failure needs to be explained: each replica's history of the space."""
    found = {}
    for instance in cluster:
        items = call(cluster, instance, "GET", "/history?limit=50")["items"]
        found[instance.name] = [
            (e["id"], e["action"], e.get("base_version"), e.get("after")) for e in items
        ]
    return found


def sign_in(instance: Instance, username: str, secret: str | None = None) -> Any:
    session = instance.login(username, secret or password(username))
    assert session, f"{username} cannot sign in on {instance} with their own password"
    return session


# --- users (finding 1) ---------------------------------------------------------------------


def test_users_created_on_two_cut_off_replicas_both_exist_everywhere_and_sign_in(
    cluster: Cluster,
):
    with cluster.cut_off():
        cluster.a.shell(create_user("erin"))
        cluster.b.shell(create_user("frank"))
    cluster.start()
    cluster.settle()
    for instance in cluster:
        for username in ("erin", "frank"):
            sign_in(instance, username)
    on_remote = remote_users(cluster)
    cluster.stop()
    ids = {name: pk for pk, name in on_remote}
    assert {"demo", "erin", "frank", SHARED_USER} <= set(ids), f"users on the remote: {on_remote}"
    assert len(set(ids.values())) == len(ids), f"two users share an id: {on_remote}"
    for instance in cluster:
        assert users_of(instance) == on_remote, f"{instance} holds other users than the remote"


def test_one_username_created_on_two_replicas_keeps_both_accounts_and_shows_a_conflict(
    cluster: Cluster,
):
    with cluster.cut_off():
        cluster.a.shell(create_user("sam", "sam-on-a"))
        cluster.b.shell(create_user("sam", "sam-on-b"))
    cluster.start()
    cluster.settle()
    on_remote = remote_users(cluster)
    sams = sorted(name for _, name in on_remote if name.startswith("sam"))
    assert len(sams) == 2 and "sam" in sams, (
        f"both accounts named sam should survive, one renamed; users on the remote: {on_remote}"
    )
    (renamed,) = set(sams) - {"sam"}
    for instance in cluster:
        # Each password opens exactly one of the two accounts, the same one on both replicas.
        owners = {
            secret: [name for name in sams if instance.login(name, secret)]
            for secret in ("sam-on-a", "sam-on-b")
        }
        assert sorted(sum(owners.values(), [])) == sams, (
            f"on {instance}, the accounts each password opens: {owners}"
        )
    # Users belong to no space, so GET /api/spaces/{id}/conflicts cannot list this one: the
    # conflict must at least be recorded, and name the renamed account.
    recorded = cluster.remote_rows("SELECT kind, action, lost, kept, detail FROM spaces_conflict")
    assert any(renamed in json.dumps(row) for row in recorded), (
        f"no conflict names the renamed account {renamed!r}; conflicts: {recorded}"
    )
    cluster.stop()
    for instance in cluster:
        assert users_of(instance) == on_remote, f"{instance} holds other users than the remote"


# --- shares and new users (finding 2) ------------------------------------------------------


def test_a_space_shared_with_a_new_user_is_not_readable_by_a_user_created_elsewhere(
    cluster: Cluster,
):
    with cluster.cut_off():
        cluster.a.shell(create_user("erin"))
        space = cluster.demo.space_id
        cluster.b.shell(create_user("frank") + SHARE_WITH.format(space=space, username="frank"))
    cluster.start()
    cluster.settle()
    for instance in cluster:
        erin = instance.login("erin", password("erin"))
        if erin is not None:
            status, body = erin.get(space_path(cluster))
            assert status == 404, (
                f"erin, whom nobody shared the space with, reads it on {instance}: {status} {body}"
            )
        status, body = sign_in(instance, "frank").get(space_path(cluster))
        assert status == 200 and body["role"] == "viewer", (
            f"frank, who was given the space, reads on {instance}: {status} {body}"
        )
        assert erin is not None, f"erin cannot sign in on {instance} with her own password"


# --- deletes (finding 3) -------------------------------------------------------------------


def test_a_delete_made_while_the_remote_was_down_survives_a_remote_reset(cluster: Cluster):
    cluster.start()
    call(cluster, cluster.a, "POST", "/thoughts", {"key": "doomed", "title": "to delete"})
    wait_until(lambda: "doomed" in keys(cluster, cluster.b), timeout=30, what="doomed on B")
    before = keys(cluster, cluster.a)
    with cluster.cut_off(cluster.a):
        assert (
            cluster.a.api(cluster.demo.token, "DELETE", space_path(cluster, "/thoughts/doomed"))[0]
            == 204
        )
        cluster.reset_remote()
        # B, which still holds the thought, finds the empty remote first and reseeds it.
        wait_until(
            lambda: (
                cluster.b.status(cluster.demo.token).get("recoveries", 0) >= 1
                and "doomed" in remote_keys(cluster)
            ),
            timeout=60,
            what="B to reseed the reset remote with its copy of doomed",
        )
    cluster.settle()
    expected = sorted(set(before) - {"doomed"})
    for instance in cluster:
        assert keys(cluster, instance) == expected, (
            f"thoughts on {instance} after the recovery (doomed was deleted on A, 204)"
        )
    assert remote_keys(cluster) == expected, "thoughts on the remote after the recovery"


def test_a_replica_recovering_late_does_not_bring_back_a_thought_deleted_before_the_reset(
    cluster: Cluster,
):
    cluster.start()
    call(cluster, cluster.a, "POST", "/thoughts", {"key": "doomed", "title": "to delete"})
    wait_until(lambda: "doomed" in keys(cluster, cluster.b), timeout=30, what="doomed on B")
    before = keys(cluster, cluster.a)
    with cluster.cut_off(cluster.b):
        assert (
            cluster.a.api(cluster.demo.token, "DELETE", space_path(cluster, "/thoughts/doomed"))[0]
            == 204
        )
        wait_until(
            lambda: cluster.a.status(cluster.demo.token).get("pending_changes") == 0,
            timeout=30,
            what="the delete to reach the remote",
        )
        cluster.reset_remote()
        wait_until(
            lambda: (
                cluster.a.status(cluster.demo.token).get("recoveries", 0) >= 1
                and remote_keys(cluster)
            ),
            timeout=60,
            what="A to reseed the reset remote",
        )
    cluster.settle()
    expected = sorted(set(before) - {"doomed"})
    assert cluster.b.status(cluster.demo.token)["recoveries"] >= 1
    for instance in cluster:
        assert keys(cluster, instance) == expected, (
            f"thoughts on {instance} after B recovered late (doomed was deleted on A, 204)"
        )
    assert remote_keys(cluster) == expected, "thoughts on the remote after both recovered"


# --- references to a deleted row (finding 4) ------------------------------------------------


DANGLING_LINKS = """
SELECT id FROM spaces_link
WHERE source_id NOT IN (SELECT id FROM spaces_thought)
   OR target_id NOT IN (SELECT id FROM spaces_thought)
"""
ORPHANS = """
SELECT key FROM spaces_thought
WHERE parent_id IS NOT NULL AND parent_id NOT IN (SELECT id FROM spaces_thought)
"""


def assert_no_dangling_rows(cluster: Cluster) -> None:
    assert cluster.remote_rows(DANGLING_LINKS) == [], "links on the remote to a missing thought"
    assert cluster.remote_rows(ORPHANS) == [], "thoughts on the remote under a missing parent"
    for instance in cluster:
        present = set(keys(cluster, instance))
        links = call(cluster, instance, "GET", "/links?limit=1000")["items"]
        ends = {end for link in links for end in (link["source"], link["target"])}
        assert ends <= present, f"links on {instance} to missing thoughts: {links}"


def test_a_link_and_a_child_of_a_thought_deleted_elsewhere_become_restorable_conflicts(
    cluster: Cluster,
):
    cluster.start()
    for key in ("t5", "t6"):
        call(cluster, cluster.a, "POST", "/thoughts", {"key": key, "title": key})
    wait_until(lambda: {"t5", "t6"} <= set(keys(cluster, cluster.b)), timeout=30, what="t5, t6")
    with cluster.cut_off():
        assert (
            cluster.b.api(cluster.demo.token, "DELETE", space_path(cluster, "/thoughts/t5"))[0]
            == 204
        )
        call(cluster, cluster.a, "POST", "/links", {"source": "t6", "target": "t5"})
        child = {"key": "child", "title": "child of t5", "parent": "t5"}
        call(cluster, cluster.a, "POST", "/thoughts", child)
    cluster.settle()
    assert_no_dangling_rows(cluster)
    link_conflict = conflict_keeping(
        cluster, "link.created", '"target": "t5"', what="the link t6 → t5"
    )
    child_conflict = conflict_keeping(cluster, "node.created", '"child"', what="the child of t5")
    for conflict in (link_conflict, child_conflict):
        status, body = cluster.a.api(
            cluster.demo.token, "POST", space_path(cluster, f"/conflicts/{conflict['id']}/restore")
        )
        assert status == 200, f"restoring {conflict['action']} answered {status}: {body}"
    cluster.settle()
    for instance in cluster:
        statuses = {c["id"]: c["status"] for c in conflicts(cluster, instance)}
        for conflict in (link_conflict, child_conflict):
            assert statuses.get(conflict["id"]) == "restored", (
                f"conflicts on {instance}: {statuses}"
            )
    assert_no_dangling_rows(cluster)


def test_a_delete_that_had_not_seen_an_edit_made_elsewhere_keeps_that_edit_as_a_conflict(
    cluster: Cluster,
):
    """b's edit reached the remote and was settled on b while a, cut off, edited the same
    version and then deleted its own edit: the delete removes b's edit, which it never saw.
    Found by tests/sync/test_faults.py (a lost node.updated), whose timing it fixes."""
    cluster.start()
    # First, no false alarm: deleting a parent moves its child without a version (no history
    # entry), and the child's later edit and delete must still read as having seen its edits.
    call(cluster, cluster.a, "POST", "/thoughts", {"key": "p7", "title": "parent"})
    call(cluster, cluster.a, "POST", "/thoughts", {"key": "c7", "title": "child", "parent": "p7"})
    call(cluster, cluster.a, "PATCH", "/thoughts/c7", {"title": "child, edited"})
    call(cluster, cluster.a, "DELETE", "/thoughts/p7")
    call(cluster, cluster.a, "PATCH", "/thoughts/c7", {"title": "child, edited again"})
    call(cluster, cluster.a, "DELETE", "/thoughts/c7")
    call(cluster, cluster.a, "POST", "/thoughts", {"key": "t7", "title": "first"})
    wait_until(lambda: "t7" in keys(cluster, cluster.b), timeout=30, what="t7 on b")
    with cluster.cut_off(cluster.a):
        call(cluster, cluster.a, "PATCH", "/thoughts/t7", {"title": "edited on a"})
        call(cluster, cluster.a, "DELETE", "/thoughts/t7")
        call(cluster, cluster.b, "PATCH", "/thoughts/t7", {"title": "edited on b"})
        space = cluster.demo.space_id
        sql = f"SELECT title FROM spaces_thought WHERE key = 't7' AND space_id = '{space}'"
        wait_until(
            lambda: cluster.remote_rows(sql) == [("edited on b",)], timeout=30, what="b's push"
        )
        pulls = cluster.b.status(cluster.demo.token)["pulls"]
        wait_until(  # b's journal is reconciled after a pull that follows its push
            lambda: cluster.b.status(cluster.demo.token).get("reconciled_pulls", 0) >= pulls + 2,
            timeout=30,
            what="two pulls reconciled on b",
        )
    cluster.settle()
    for instance in cluster:
        assert "t7" not in keys(cluster, instance), f"t7 came back on {instance}"
    conflict = conflict_keeping(cluster, "node.updated", "edited on b", what="b's edit of t7")
    assert conflict["kind"] == "edit_of_deleted", conflict
    for instance in cluster:
        assert [c["lost"]["title"] for c in conflicts(cluster, instance)] == ["edited on b"]


# --- space edits and shares (finding 8) -----------------------------------------------------


def test_concurrent_space_titles_converge_and_the_other_title_is_a_conflict(cluster: Cluster):
    cluster.start()
    with cluster.cut_off():
        call(cluster, cluster.a, "PATCH", "", {"title": "Title from A"})
        call(cluster, cluster.b, "PATCH", "", {"title": "Title from B"})
    cluster.settle()
    titles = {instance.name: call(cluster, instance, "GET", "")["title"] for instance in cluster}
    assert titles["a"] == titles["b"] in {"Title from A", "Title from B"}, f"titles: {titles}"
    (lost,) = {"Title from A", "Title from B"} - {titles["a"]}
    conflict_keeping(cluster, "space.updated", lost, what=f"the title {lost!r}")


def test_editor_and_viewer_granted_at_once_end_as_viewer_with_a_conflict(cluster: Cluster):
    cluster.start()
    with cluster.cut_off():
        call(cluster, cluster.a, "POST", "/members", {"username": SHARED_USER, "role": "editor"})
        call(cluster, cluster.b, "POST", "/members", {"username": SHARED_USER, "role": "viewer"})
    cluster.settle()
    for instance in cluster:
        status, body = sign_in(instance, SHARED_USER).get(space_path(cluster))
        assert status == 200 and body["role"] == "viewer", (
            f"{SHARED_USER}'s access on {instance} (editor and viewer granted at once): "
            f"{status} {body}"
        )
    conflict_keeping(cluster, "space.shared", '"editor"', what="the editor grant")


def test_a_revocation_wins_over_a_concurrent_role_change_with_a_conflict(cluster: Cluster):
    cluster.start()
    call(cluster, cluster.a, "POST", "/members", {"username": SHARED_USER, "role": "viewer"})
    wait_until(
        lambda: sign_in(cluster.b, SHARED_USER).get(space_path(cluster))[0] == 200,
        timeout=30,
        what="the share on B",
    )
    with cluster.cut_off():
        call(cluster, cluster.a, "POST", "/members", {"username": SHARED_USER, "role": None})
        call(cluster, cluster.b, "POST", "/members", {"username": SHARED_USER, "role": "editor"})
    cluster.settle()
    for instance in cluster:
        status, body = sign_in(instance, SHARED_USER).get(space_path(cluster))
        assert status == 404, (
            f"{SHARED_USER}, whose access was revoked on A, reads the space on {instance}: "
            f"{status} {body}"
        )
    conflict_keeping(cluster, "space.shared", '"editor"', what="the role change to editor")
