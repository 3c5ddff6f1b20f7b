"""A fleet as docs/deploy.md runs one: nginx (with deploy/nginx/thoughtspace.conf) in front of
three offline-mode processes of one tursodb primary and one Redis, all on 127.0.0.1 and all
stopped by the test. Clients from several addresses write and read through nginx while a
WebSocket client listens; then every process holds every acknowledged write and is ready;
then deploy/rolling-restart.sh restarts the three under the same load without a failed
request or a lost write."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.fleet.fleet import Fleet, Process, call, restart_command, running_fleet, titles_on
from tests.live.servers import ROOT
from tests.sync.instances import wait_until

CLIENTS = 9  # each from an address of its own (127.0.0.2, ...): nginx hashes addresses
SETTLED = 3.0  # seconds after which a client edits or deletes a thought it created


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with running_fleet(tmp_path, processes=3, tokens=CLIENTS) as running:
        yield running


@dataclass
class Load:
    """Clients writing, editing, deleting and reading their own thoughts through nginx, each
    from an address of its own with a token of its own, until ``stop``."""

    nginx_port: int
    space: str
    tokens: list[str]
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    expected: dict[str, str | None] = field(default_factory=dict)  # key -> title, None: deleted
    created_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # one client address per token
    rounds: int = 0

    def start(self) -> None:
        self.done.clear()
        self.rounds += 1
        self.threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True)
            for n in range(len(self.tokens))
        ]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(60)

    def _client(self, n: int) -> None:
        rng = random.Random(n * 1000 + self.rounds)
        source, token = self.sources[n], self.tokens[n]
        path = f"/api/spaces/{self.space}/thoughts"
        mine: list[str] = []
        made = 0
        while not self.done.is_set():
            settled = [k for k in mine if time.monotonic() - self.created_at[k] > SETTLED]
            roll = rng.random()
            try:
                if roll < 0.4 or not settled:
                    key = f"r{self.rounds}-c{n}-{made}"
                    made += 1
                    status, body = call(
                        "127.0.0.1",
                        self.nginx_port,
                        "POST",
                        path,
                        token,
                        {"key": key, "title": f"{key} v0"},
                        source,
                    )
                    ok = status == 201
                    if ok:
                        with self.lock:
                            self.expected[key] = f"{key} v0"
                            self.created_at[key] = time.monotonic()
                        mine.append(key)
                elif roll < 0.65:
                    key = rng.choice(settled)
                    title = f"{key} v{rng.randrange(1, 10**6)}"
                    status, body = call(
                        "127.0.0.1",
                        self.nginx_port,
                        "PATCH",
                        f"{path}/{key}",
                        token,
                        {"title": title},
                        source,
                    )
                    ok = status == 200
                    if ok:
                        with self.lock:
                            self.expected[key] = title
                elif roll < 0.75:
                    key = rng.choice(settled)
                    status, body = call(
                        "127.0.0.1", self.nginx_port, "DELETE", f"{path}/{key}", token, None, source
                    )
                    ok = status == 204
                    if ok:
                        mine.remove(key)
                        with self.lock:
                            self.expected[key] = None
                else:
                    status, body = call(
                        "127.0.0.1", self.nginx_port, "GET", f"{path}?limit=20", token, None, source
                    )
                    ok = status == 200
            except OSError as exc:
                status, body, ok = 0, repr(exc), False
            with self.lock:
                self.requests += 1
                if not ok:
                    self.failures.append(f"client {n}: {status} {str(body)[:300]}")


def assert_converged(fleet: Fleet, load: Load) -> None:
    """Every process holds every acknowledged write, and nothing deleted."""
    token, space = fleet.tokens[0], fleet.space
    alive = {key: title for key, title in load.expected.items() if title is not None}
    gone = {key for key, title in load.expected.items() if title is None}
    for process in fleet.processes:

        def holds_all(port: int = process.port) -> bool:
            found = titles_on(port, token, space)
            return all(found.get(k) == t for k, t in alive.items()) and not gone & set(found)

        wait_until(holds_all, timeout=60, what=f"every write on port {process.port}")


async def _listen(nginx_port: int, space: str, token: str, seconds: float) -> list[dict]:
    url = f"ws://127.0.0.1:{nginx_port}/ws/spaces/{space}/"
    events = []
    headers = {"Authorization": f"Bearer {token}"}
    async with connect(url, additional_headers=headers) as socket:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(socket.recv(), timeout=0.5)
            except TimeoutError:
                continue
            events.append(json.loads(raw))
    return events


def test_a_fleet_behind_nginx_serves_syncs_and_restarts_without_a_failed_request(fleet):
    nginx, processes = fleet.nginx, fleet.processes
    load = Load(nginx.port, fleet.space, fleet.tokens, sources=nginx.sources(len(fleet.tokens)))

    # Mixed clients through nginx, with a WebSocket client of the space listening there too.
    load.start()
    events = asyncio.run(_listen(nginx.port, fleet.space, fleet.tokens[0], 8))
    load.stop()
    assert load.failures == [], load.failures[:10]
    assert load.requests > 100, load.requests
    served = nginx.served_by()
    # nginx's request id is the app's: in its answer (and in its logs, syncops.logs).
    connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
    connection.request("GET", "/healthz")
    answered = connection.getresponse().getheader("X-Request-ID")
    connection.close()
    time.sleep(0.2)  # the access log is written as the request ends
    logged = (nginx.folder / "access.log").read_text().splitlines()[-1].split()
    assert answered and logged[3] == answered, (answered, logged)
    assert len([upstream for upstream in served if upstream != "-"]) == 3, served
    assert any(event.get("type") == "node.created" for event in events), events[:5]
    assert_converged(fleet, load)
    for process in processes:
        status, body = call("127.0.0.1", process.port, "GET", "/readyz")
        assert status == 200, body

    # A rolling restart, with deploy/rolling-restart.sh, under the same load.
    starts = [process.starts for process in processes]
    load.start()
    time.sleep(2)
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "rolling-restart.sh"), *(str(p.port) for p in processes)],
        env={
            **os.environ,
            "UPSTREAM_CONF": str(nginx.site),
            "NGINX_RELOAD": nginx.reload,
            "RESTART": restart_command(fleet.root),
            "DRAIN_SECONDS": "2",
            "READY_TIMEOUT": "60",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    time.sleep(2)
    load.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert [process.starts for process in processes] == [n + 1 for n in starts]
    assert load.failures == [], load.failures[:10]
    assert_converged(fleet, load)
    for process in processes:
        assert call("127.0.0.1", process.port, "GET", "/readyz")[0] == 200


def test_a_push_makes_the_other_processes_pull_at_once(tmp_path):
    # An hour between timed pulls: only the pushing process's word (over Redis) can bring the
    # write to the other within the wait below.
    slow = {"TURSO_SYNC_INTERVAL": "3600"}
    with running_fleet(tmp_path, processes=2, tokens=1, extra_env=slow) as fleet:
        writer, reader = fleet.processes
        path = f"/api/spaces/{fleet.space}/thoughts"
        for n in range(3):
            key = f"told-{n}"
            status, body = call(
                "127.0.0.1", writer.port, "POST", path, fleet.tokens[0], {"key": key, "title": key}
            )
            assert status == 201, body
            # The list, not the thought: a 404 would make the reader pull by itself.
            wait_until(
                lambda k=key: k in titles_on(reader.port, fleet.tokens[0], fleet.space),
                timeout=15,
                what=f"{key} on the other process",
            )


def settled(process: Process) -> bool:
    """Nothing waits to be pushed, and the process pulled after its last push (a push brings
    a pull within RECONCILE_AFTER_PUSH_SECONDS; the first pull comes after the start)."""
    checks = call("127.0.0.1", process.port, "GET", "/readyz")[1]["checks"]
    pulled, pushed = checks["last_pull_at"], checks["last_push_at"]
    return checks["pending_changes"] == 0 and pulled is not None and (pushed or "") <= pulled


def test_a_404_is_answered_only_after_a_pull(tmp_path):
    """A client moved to another process asks there for what it has just made: neither Redis
    nor the timer (an hour) brings it in time, the 404's own pull does."""
    alone = {"TURSO_SYNC_INTERVAL": "3600", "THOUGHTSPACE_REDIS_URL": ""}
    with running_fleet(tmp_path, processes=2, tokens=1, extra_env=alone) as fleet:
        writer, reader = fleet.processes
        token, path = fleet.tokens[0], f"/api/spaces/{fleet.space}/thoughts"
        for key, first_request in (
            ("edited", ("PATCH", {"title": "Edited on the reader"}, "Edited on the reader")),
            ("read", ("GET", None, "read")),
        ):
            # The reader's own pulls (at its start, after its own push) are over; the timer's
            # is an hour away and no one tells it of the write that follows.
            wait_until(lambda: settled(reader), timeout=15, what="the reader's own pulls")
            status, body = call(
                "127.0.0.1", writer.port, "POST", path, token, {"key": key, "title": key}
            )
            assert status == 201, body
            wait_until(lambda: settled(writer), timeout=15, what=f"{key} on the remote")
            assert key not in titles_on(reader.port, token, fleet.space)  # not pulled yet
            method, payload, title = first_request
            status, body = call("127.0.0.1", reader.port, method, f"{path}/{key}", token, payload)
            assert (status, body["title"]) == (200, title), body

        started = time.monotonic()
        status, _ = call("127.0.0.1", reader.port, "GET", f"{path}/never-made", token)
        assert status == 404
        assert time.monotonic() - started < 2.5  # one pull's wait at most
        status, _ = call("127.0.0.1", reader.port, "GET", "/no/such/page/", token)
        assert status == 404
