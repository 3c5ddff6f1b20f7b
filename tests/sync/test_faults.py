"""Fault injection against real servers: the app SIGKILLed in a burst of writes, and a
property-based run of three replicas with random writes, syncs and network partitions.

Nothing here calls ``resync``: every replica gets back on its feet by itself.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncops.devservers import Server, free_port, start_turso_sync_server
from tests.live.servers import PYTHON, ROOT, _wait_for_port, manage, prepare_database
from tests.sync.instances import api, count, sync_env, wait_until

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


def test_every_write_acknowledged_before_a_sigkill_reaches_the_remote(
    turso_server: Server, tmp_path: Path
):
    a = sync_env(tmp_path, "a", "offline", turso_server.url)
    demo = prepare_database(a)
    path = f"/api/spaces/{demo.space_id}/thoughts"
    acknowledged: list[str] = []
    rng = random.Random(5)
    for round_number in range(20):
        process, url = start_daphne(a, tmp_path / "a" / "daphne.log")
        stop = threading.Event()
        writer = threading.Thread(
            target=burst, args=(url, f"{path}", demo.token, f"r{round_number}", stop, acknowledged)
        )
        writer.start()
        time.sleep(rng.uniform(0.15, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        stop.set()
        writer.join()
    assert len(acknowledged) > 100
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
    assert count(b) == count(a)


# --- three replicas, random writes, syncs and partitions --------------------------------------


class Proxy:
    """A TCP proxy from a replica to the remote that can cut the connection (a partition)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.cut = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def partition(self) -> None:
        self.cut.set()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def heal(self) -> None:
        self.cut.clear()

    def close(self) -> None:
        self._listener.close()


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
OPS = ["create"] * 3 + ["update"] * 4 + ["delete", "link", "unlink", "sync", "partition", "heal"]
step = st.tuples(st.sampled_from(OPS), st.integers(0, 2), st.sampled_from(KEYS), st.integers(0, 9))


def converge(replicas: list[Worker], space_id: str) -> list[dict[str, Any]]:
    """Heal every partition and sync until all replicas hold the same state."""
    for worker in replicas:
        worker.proxy.heal()
    deadline = time.monotonic() + 60
    while True:
        for worker in replicas * 2:
            worker(op="sync")
        states = [worker(op="state", space=space_id)["state"] for worker in replicas]
        comparable = [{k: v for k, v in s.items() if k != "history"} for s in states]
        if all(s == comparable[0] for s in comparable) and not states[0].get("missing"):
            return states
        if time.monotonic() > deadline:
            raise AssertionError(f"replicas did not converge: {json.dumps(comparable)[:3000]}")
        time.sleep(0.5)


def accounted_for(write: dict[str, Any], state: dict[str, Any]) -> bool:
    """Whether the final state holds an accepted write, or a conflict keeps it."""
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
        links = {link[0] for link in state["links"]}
        same = any(
            link[1:] == [after["source"], after["target"], after["label"]]
            for link in state["links"]
        )
        removed = any(
            e["action"] in ("link.deleted", "node.deleted")
            and (
                (e["before"] or {}).get("id") == after["id"]
                or (e["before"] or {}).get("key") in (after["source"], after["target"])
            )
            for e in history
        )
        return after["id"] in links or same or removed
    if action == "link.deleted":
        return before["id"] not in {link[0] for link in state["links"]}
    return True


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=12, max_size=30))
def test_three_replicas_converge_and_keep_every_accepted_write(replicas: list[Worker], steps):
    space_id = replicas[0](op="create_space")["id"]
    converge(replicas, space_id)
    accepted: list[dict[str, Any]] = []
    for op, index, key, value in steps:
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
        command: dict[str, Any] = {"op": op, "space": space_id, "key": key}
        if op in ("create", "update"):
            command["title"] = f"{key}{value} by r{index}"
        if op in ("link", "unlink"):
            command["target"] = KEYS[value % len(KEYS)]
        reply = worker(**command)
        if reply["ok"]:
            accepted.append({"history_id": reply["history_id"], "op": op, "replica": index})
    states = converge(replicas, space_id)
    final = states[0]
    lost = [write for write in accepted if not accounted_for(write, final)]
    assert not lost, f"lost writes: {lost}\nfinal: {json.dumps(final)[:4000]}"
