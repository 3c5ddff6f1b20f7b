"""Fault injection against real servers: the app SIGKILLed in a burst of writes, and a
property-based run of three replicas with random writes, syncs and network partitions.

Nothing here calls ``resync``: every replica gets back on its feet by itself.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from syncops.devservers import Server, free_port, start_turso_sync_server
from tests.live.servers import PYTHON, ROOT, _wait_for_port, manage, prepare_database
from tests.sync.instances import api, sync_env, thoughts, wait_until
from tests.sync.proxy import Proxy

# --- the app killed in the middle of a burst of writes -------------------------------------------


def start_daphne(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "thoughtspace.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    _wait_for_port(port, process, "daphne", 30)
    return process, f"http://127.0.0.1:{port}"


KEYS_SCRIPT = (
    "from spaces.models import Thought; print(*Thought.objects.values_list('key', flat=True))"
)


def burst(
    url: str, path: str, token: str, prefix: str, stop: threading.Event, acknowledged: list[str]
) -> None:
    """POST thoughts one after another until ``stop``, or until the server is gone."""
    index = 0
    while not stop.is_set():
        key = f"{prefix}-{index}"
        try:
            status = api(url, "POST", path, token, {"key": key, "title": key}, 2)[0]
        except (OSError, ValueError):  # refused, reset, or a response cut short by the kill
            return
        if status == 201:
            acknowledged.append(key)
        index += 1


KILLS = 12  # each a restart (seconds) and a kill at a random moment of a burst


def test_every_write_acknowledged_before_a_sigkill_reaches_the_remote(
    turso_server: Server, tmp_path: Path
):
    a = sync_env(tmp_path, "a", "offline", turso_server.url)
    demo = prepare_database(a)
    path = f"/api/spaces/{demo.space_id}/thoughts"
    acknowledged: list[str] = []
    rng = random.Random(5)
    for round_number in range(KILLS):
        process, url = start_daphne(a, tmp_path / "a" / "daphne.log")
        stop = threading.Event()
        writer = threading.Thread(
            target=burst, args=(url, f"{path}", demo.token, f"r{round_number}", stop, acknowledged)
        )
        writer.start()
        # Killed in the middle of a burst: once a few writes were acknowledged (a slow,
        # shared machine takes longer to start), then at a random moment.
        started = len(acknowledged)
        wait_until(lambda n=started: len(acknowledged) >= n + 3, timeout=30, what="a burst")
        time.sleep(rng.uniform(0.05, 0.4))
        process.send_signal(signal.SIGKILL)
        process.wait()
        stop.set()
        writer.join()
    assert len(acknowledged) >= 3 * KILLS
    process, url = start_daphne(a, tmp_path / "a" / "daphne.log")
    try:
        wait_until(
            lambda: api(url, "GET", "/api/sync/status", demo.token)[1]["pending_changes"] == 0,
            timeout=60,
            what="the backlog to reach the remote",
        )
    finally:
        process.terminate()
        process.wait()
    b = sync_env(tmp_path, "b", "offline", turso_server.url)
    manage(b, "migrate", "--noinput")  # a new replica: what the remote holds
    on_remote = manage(b, "shell", "--no-imports", "-c", KEYS_SCRIPT).split()
    assert set(acknowledged) <= set(on_remote)
    assert thoughts(b) == thoughts(a)


# --- three replicas, random writes, syncs and partitions --------------------------------------


class Worker:
    """One replica process (tests/sync/replica_worker.py) behind its own proxy."""

    def __init__(self, env: dict[str, str], proxy: Proxy) -> None:
        self.proxy = proxy
        code = "from tests.sync.replica_worker import main; main()"
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "shell", "--no-imports", "-c", code],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __call__(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        assert "trace" not in reply, reply["trace"]
        return reply

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Worker]]:
    tmp = tmp_path_factory.mktemp("three")
    server = start_turso_sync_server(tmp / "remote" / "remote.db")
    proxies = [Proxy(server.port) for _ in range(3)]
    envs = [
        {**sync_env(tmp, f"r{n}", "offline", proxy.url), "TURSO_SYNC_INTERVAL": "1"}
        for n, proxy in enumerate(proxies)
    ]
    prepare_database(envs[0])
    manage(envs[0], "shell", "--no-imports", "-c", POOL_SCRIPT)
    for env in envs[1:]:
        manage(env, "migrate", "--noinput")
    workers = [Worker(env, proxy) for env, proxy in zip(envs, proxies, strict=True)]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()
        for proxy in proxies:
            proxy.close()
        server.stop()


KEYS = ["a", "b", "c"]
OPS = (
    ["create"] * 3
    + ["update"] * 4
    + ["delete", "link", "unlink", "retitle", "share", "share", "create_user"]
    + ["sync", "partition", "heal"]
)
step = st.tuples(st.sampled_from(OPS), st.integers(0, 2), st.sampled_from(KEYS), st.integers(0, 9))
ROLES = ["viewer", "editor", None]

# Users every replica holds from the start, whom any replica can share a space with.
POOL = ["p0", "p1"]
POOL_SCRIPT = f"""
from django.contrib.auth.models import User
for name in {POOL!r}:
    User.objects.create_user(name, email=name + "@pool.test", password=name + "-password")
"""

# A fresh seed on each run, printed, so that a failure can be replayed exactly:
# THOUGHTSPACE_TEST_SEED=<seed> .venv/bin/python -m pytest tests/sync/test_faults.py
SEED = int(os.environ.get("THOUGHTSPACE_TEST_SEED") or secrets.randbelow(2**32))
# About 3 minutes on a 2-core machine (measured: 8-12 s an example, 25 s to start).
EXAMPLES = int(os.environ.get("THOUGHTSPACE_TEST_EXAMPLES") or 18)
_examples = itertools.count()


def converge(replicas: list[Worker], space_id: str) -> list[dict[str, Any]]:
    """Heal every partition and sync until all replicas hold the same state, history, users
    and shares included."""
    for worker in replicas:
        worker.proxy.heal()
    deadline = time.monotonic() + 60
    while True:
        for worker in replicas * 2:
            worker(op="sync")
        states = [worker(op="state", space=space_id)["state"] for worker in replicas]
        if all(s == states[0] for s in states) and not states[0].get("missing"):
            return states
        if time.monotonic() > deadline:
            raise AssertionError(
                f"replicas did not converge (seed {SEED}): "
                + "\n".join(json.dumps(s)[:3000] for s in states)
            )
        time.sleep(0.5)


def accounted_for(write: dict[str, Any], state: dict[str, Any], removed_links: set[str]) -> bool:
    """Whether the final state holds an acknowledged write, or a conflict keeps it. A write
    may be gone only when a later write that had seen it undid it: history says which, and
    ``removed_links`` holds the links that deletes of their ends took where they were seen."""
    history = state["history"]
    conflict_ids = {c[0] for c in state["conflicts"]}
    thoughts = {t[0]: t for t in state["thoughts"]}
    mine = next((e for e in history if e["id"] == write["history_id"]), None)
    if mine is None:
        return False  # even its history entry is gone
    if mine["id"] in conflict_ids:
        return True
    action, before, after = mine["action"], mine["before"], mine["after"]
    if action == "node.created":
        deleted_later = any(
            e["action"] == "node.deleted" and e["before"]["id"] == after["id"] for e in history
        )
        return after["id"] in thoughts or deleted_later
    if action == "node.updated":
        current = thoughts.get(after["id"])
        if current is not None and current[2] == after["title"]:
            return True
        # Someone who had seen it changed or deleted the thought afterwards.
        return any(
            e["base_version"] == after["version"]
            and (e["before"] or {}).get("id") == after["id"]
            and (e["before"] or {}).get("title") == after["title"]
            for e in history
        )
    if action == "node.deleted":
        return before["id"] not in thoughts
    if action == "link.created":
        same = any(
            link[1:] == [after["source"], after["target"], after["label"]]
            for link in state["links"]
        )
        unlinked = any(
            e["action"] == "link.deleted" and (e["before"] or {}).get("id") == after["id"]
            for e in history
        )
        # Only a delete of an end that had seen the link may take it (and said so); a delete
        # that had not leaves a dangling conflict named by the link's id, which brings it back.
        return (
            after["id"] in {link[0] for link in state["links"]}
            or same
            or unlinked
            or after["id"] in removed_links
            or after["id"] in conflict_ids
        )
    if action == "link.deleted":
        return before["id"] not in {link[0] for link in state["links"]}
    if action == "space.updated":
        if state["title"] == after["title"]:
            return True
        return any(
            e["action"] == "space.updated" and (e["before"] or {}).get("title") == after["title"]
            for e in history
            if e["id"] > mine["id"]
        )
    if action == "space.shared":
        role = dict(state["members"]).get(write["email"])
        if role == after["role"]:
            return True
        # Lenient: a later share of the same user may have replaced it (history does not say
        # whether that writer had seen this one); tests/sync/test_every_write.py is strict.
        return any(
            e["action"] == "space.shared" and e["after"]["user"] == after["user"]
            for e in history
            if e["id"] > mine["id"]
        )
    raise AssertionError(f"no rule for {action}")


def _summary(state: dict[str, Any]) -> str:
    """What a failure needs to be understood: the thoughts, links, conflicts, and history in
    short (not the users, which the runs pile up)."""

    def short(entry: dict[str, Any]) -> list[Any]:
        before, after = entry["before"] or {}, entry["after"] or {}
        return [
            entry["id"],
            entry["action"],
            entry["base_version"],
            before.get("title") or before.get("source"),
            after.get("title") or after.get("source") or after.get("role"),
            after.get("version"),
        ]

    shown = {name: state[name] for name in ("thoughts", "links", "title", "members", "conflicts")}
    shown["history"] = [short(entry) for entry in state["history"]]
    return json.dumps(shown)[:12000]


@seed(SEED)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    database=None,  # the seed alone replays a run
    phases=[Phase.explicit, Phase.generate],  # no shrinking: 12-15 s an example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=12, max_size=30))
def test_three_replicas_converge_and_keep_every_accepted_write(replicas: list[Worker], steps):
    example = next(_examples)
    if example == 0:
        print(f"hypothesis seed {SEED}: replay with THOUGHTSPACE_TEST_SEED={SEED}")
    space_id = replicas[0](op="create_space")["id"]
    converge(replicas, space_id)
    accepted: list[dict[str, Any]] = []
    removed_links: set[str] = set()  # by deletes of an end, on a replica that held them
    granted: set[str] = set()  # emails of users some acknowledged share gave a role
    accounts: dict[str, str] = {}  # email -> password of every acknowledged new user
    names = list(POOL)
    for number, (op, index, key, value) in enumerate(steps):
        worker = replicas[index]
        if op == "partition":
            worker.proxy.partition()
            continue
        if op == "heal":
            worker.proxy.heal()
            continue
        if op == "sync":
            worker(op="sync")
            continue
        if op == "create_user":
            # Two replicas may create one username: both accounts must survive.
            username, email = f"e{example}u{value % 2}", f"e{example}n{number}@new.test"
            reply = worker(op=op, username=username, email=email, password=email)
            if reply["ok"]:
                accounts[email] = email
                names.append(username)
            continue
        command: dict[str, Any] = {"op": op, "space": space_id, "key": key}
        if op in ("create", "update"):
            command["title"] = f"{key}{value} by r{index}"
        if op in ("link", "unlink"):
            command["target"] = KEYS[value % len(KEYS)]
        if op == "retitle":
            command["title"] = f"space {value} by r{index}"
        if op == "share":
            command["username"] = names[value % len(names)]
            command["role"] = ROLES[value % len(ROLES)]
        reply = worker(**command)
        if not reply["ok"]:
            continue
        accepted.append({"history_id": reply["history_id"], "op": op, "replica": index})
        if op == "delete":
            removed_links.update(reply["removed_links"])
        if op == "share":
            accepted[-1]["email"] = reply["email"]
            if command["role"] is not None:
                granted.add(reply["email"])
    states = converge(replicas, space_id)
    final = states[0]
    context = f"seed {SEED}\nfinal: {_summary(final)}"
    lost = [write for write in accepted if not accounted_for(write, final, removed_links)]
    assert not lost, f"lost writes: {lost}\n{context}"
    deleted_thoughts = {
        e["before"]["id"]
        for e in final["history"]
        if e["action"] == "node.deleted" and any(w["history_id"] == e["id"] for w in accepted)
    }
    back = [t for t in final["thoughts"] if t[0] in deleted_thoughts]
    assert not back, f"deleted thoughts came back: {back}\n{context}"
    unlinked = removed_links | {
        e["before"]["id"]
        for e in final["history"]
        if e["action"] == "link.deleted" and any(w["history_id"] == e["id"] for w in accepted)
    }
    back = [link for link in final["links"] if link[0] in unlinked]
    assert not back, f"deleted links came back: {back}\n{context}"
    for number, worker in enumerate(replicas):
        readers = worker(op="readers", space=space_id)["readers"]
        strangers = [r for r in readers if r[1] != "owner" and r[0] not in granted]
        assert not strangers, (
            f"r{number} lets users nobody shared the space with read it: {strangers}\n{context}"
        )
        logins = worker(op="logins", accounts=sorted(accounts.items()))["logins"]
        refused = [email for email, ok in logins.items() if not ok]
        assert not refused, f"new users who cannot sign in on r{number}: {refused}\n{context}"
