"""The measurements. Each returns plain data (lists of milliseconds, counts) for report.py;
runs that are compared with each other are interleaved in rounds, in one process tree."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.bench.fleet import Client, Instance, Relay
from syncops.devservers import Server, start_turso_sync_server


def thoughts_path(space_id: str, key: str = "") -> str:
    return f"/api/spaces/{space_id}/thoughts" + (f"/{key}" if key else "")


# --- 1. raw driver commits ---------------------------------------------------------------


def driver_floor(directory: Path, rounds: int, per_round: int) -> dict[str, list[float]]:
    """One INSERT and COMMIT on each engine's local file, with nothing above the driver."""
    import libsql_experimental
    import turso

    def stdlib() -> Any:
        conn = sqlite3.connect(directory / "stdlib.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def libsql() -> Any:
        conn = libsql_experimental.connect(str(directory / "libsql.db"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def pyturso() -> Any:
        return turso.connect(str(directory / "turso.db"), isolation_level=None)

    engines = {
        "stdlib sqlite3 (WAL)": stdlib(),
        "libsql-experimental (local)": libsql(),
        "pyturso (local)": pyturso(),
    }
    for conn in engines.values():
        conn.execute("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, v TEXT)")
    results: dict[str, list[float]] = {name: [] for name in engines}
    counter = 0
    for _ in range(rounds):
        for name, conn in random.sample(list(engines.items()), len(engines)):
            for _ in range(per_round):
                counter += 1
                started = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO t VALUES (?, ?)", (f"row-{counter}", "a value"))
                conn.execute("COMMIT")
                results[name].append((time.perf_counter() - started) * 1000)
    for conn in engines.values():
        conn.close()
    return results


# --- 1. API writes -----------------------------------------------------------------------


def api_writes(
    targets: dict[str, Instance], rounds: int, per_round: int, prefix: str = "w"
) -> dict[str, dict[str, list[float]]]:
    """POST a thought, one at a time, on each target in turn (order shuffled every round);
    client and server milliseconds per write."""
    clients = {label: Client(inst.url, inst.token) for label, inst in targets.items()}
    results: dict[str, dict[str, list[float]]] = {
        label: {"client": [], "server": []} for label in targets
    }
    counter = 0
    for round_index in range(rounds):
        for label in random.sample(list(targets), len(targets)):
            inst, client = targets[label], clients[label]
            for i in range(per_round + 1):
                counter += 1
                body = {"key": f"{prefix}{round_index}-{counter}", "title": "Benchmark write"}
                status, data, client_ms, server_ms = client.call(
                    "POST", thoughts_path(inst.space()), body
                )
                if status != 201:
                    raise RuntimeError(f"{label}: write answered {status}: {data}")
                if i:  # the first write of each turn warms the connection up
                    results[label]["client"].append(client_ms)
                    results[label]["server"].append(server_ms or 0.0)
    for client in clients.values():
        client.close()
    return results


def settle(relay: Relay, *, quiet: float = 0.4, limit: float = 5.0) -> int:
    """Wait until ``relay`` has seen no request for ``quiet`` seconds (at most ``limit``);
    returns how many it saw meanwhile."""
    first = last = relay.stats()["requests"]
    since = time.monotonic()
    deadline = since + limit
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = relay.stats()["requests"]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return int(last - first)


def rtt_writes(
    targets: dict[str, tuple[Instance, Relay]],
    rtts: list[float],
    rounds: int,
    per_round: dict[str, int],
    requests: dict[str, dict[str, list[float]]] | None = None,
    background: dict[str, dict[str, list[float]]] | None = None,
) -> dict[str, dict[str, list[float]]]:
    """API writes on instances whose remote sits behind a relay, the relay's round-trip time
    switched between ``rtts`` (order shuffled every round): milliseconds per write. Each write
    starts once the relay is quiet; ``requests`` (filled in) gets the HTTP requests it sent to
    the remote before its response, ``background`` those sent after it until the relay was
    quiet again (offline mode's push, the embedding of the new thought)."""
    results: dict[str, dict[str, list[float]]] = {
        label: {str(rtt): [] for rtt in rtts} for label in targets
    }
    if requests is None:
        requests = {}
    if background is None:
        background = {}
    for table in (requests, background):
        table.update({label: {str(rtt): [] for rtt in rtts} for label in targets})
    clients = {label: Client(inst.url, inst.token) for label, (inst, _) in targets.items()}
    counter = 0
    for round_index in range(rounds):
        for rtt in random.sample(rtts, len(rtts)):
            for _, relay in targets.values():
                relay.set_rtt(rtt)
            for label in random.sample(list(targets), len(targets)):
                inst, _ = targets[label]
                relay = targets[label][1]
                for i in range(per_round[label] + 1):
                    counter += 1
                    body = {"key": f"rtt{round_index}-{counter}", "title": "Benchmark write"}
                    settle(relay)
                    sent_before = relay.stats()["requests"]
                    status, data, client_ms, _ = clients[label].call(
                        "POST", thoughts_path(inst.space()), body, timeout=120
                    )
                    if status != 201:
                        raise RuntimeError(f"{label} at {rtt} ms: write answered {status}: {data}")
                    sent = relay.stats()["requests"] - sent_before
                    after = settle(relay)
                    if i:
                        results[label][str(rtt)].append(client_ms)
                        requests[label][str(rtt)].append(float(sent))
                        background[label][str(rtt)].append(float(after))
    for _, relay in targets.values():
        relay.set_rtt(0)
    return results


# --- 4. convergence ----------------------------------------------------------------------


async def _listen(socket: Any, arrivals: dict[str, float]) -> None:
    async for raw in socket:
        event = json.loads(raw)
        if event.get("key"):
            arrivals.setdefault(event["key"], time.perf_counter())


async def _convergence(
    a: Instance, url_a: str, url_b: str, writes: int, warmup: int, gap: float, poll: float
) -> dict[str, list[float]]:
    from websockets.asyncio.client import connect

    from tests.live.servers import ws_url

    headers = {"Authorization": f"Bearer {a.token}"}
    space_id = a.space()
    on_a: dict[str, float] = {}
    on_b: dict[str, float] = {}
    results: dict[str, list[float]] = {
        "event on B": [],
        "readable on B": [],
        "event on A": [],
        "API write on A": [],
    }
    writer, reader = Client(url_a, a.token), Client(url_b, a.token)
    async with (
        connect(ws_url(url_a, space_id), additional_headers=headers) as socket_a,
        connect(ws_url(url_b, space_id), additional_headers=headers) as socket_b,
    ):
        listeners = [
            asyncio.create_task(_listen(s, d)) for s, d in ((socket_a, on_a), (socket_b, on_b))
        ]
        for i in range(warmup + writes):
            key = f"conv-{time.monotonic_ns()}"
            readable: list[float] = []

            async def poll_b(key: str = key, readable: list[float] = readable) -> None:
                while True:
                    status, _, _, _ = await asyncio.to_thread(
                        reader.call, "GET", thoughts_path(space_id, key)
                    )
                    if status == 200:
                        readable.append(time.perf_counter())
                        return
                    await asyncio.sleep(poll)

            started = time.perf_counter()
            poller = asyncio.create_task(poll_b())
            body = {"key": key, "title": "Convergence"}
            await asyncio.to_thread(writer.ok, "POST", thoughts_path(space_id), body)
            answered = time.perf_counter()
            try:
                await asyncio.wait_for(poller, timeout=15)
            except TimeoutError as exc:
                raise RuntimeError(f"{key} not readable on B within 15 s") from exc
            deadline = time.perf_counter() + 15
            while (key not in on_a or key not in on_b) and time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
            if key not in on_b or key not in on_a:
                raise RuntimeError(f"no event for {key} within 15 s")
            if i >= warmup:
                results["event on B"].append((on_b[key] - started) * 1000)
                results["readable on B"].append((readable[0] - started) * 1000)
                results["event on A"].append((on_a[key] - started) * 1000)
                results["API write on A"].append((answered - started) * 1000)
            await asyncio.sleep(gap)
        for task in listeners:
            task.cancel()
    writer.close()
    reader.close()
    return results


def convergence(
    a: Instance,
    url_b: str,
    writes: int,
    warmup: int = 3,
    gap: float = 0.2,
    poll: float = 0.01,
    url_a: str | None = None,
) -> dict[str, list[float]]:
    """Writes on A one at a time (``gap`` s apart); from the start of each, when its event
    reaches a WebSocket client of B (and of A), and when B's API first returns it."""
    return asyncio.run(_convergence(a, url_a or a.url, url_b, writes, warmup, gap, poll))


# --- 3. burst ----------------------------------------------------------------------------


class Watcher:
    """A Turso replica of a remote, opened by the benchmark to see what the remote holds."""

    def __init__(self, remote_url: str, directory: Path) -> None:
        import turso.sync

        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"watch-{time.monotonic_ns()}.db"
        self.connection = turso.sync.connect(str(path), remote_url=remote_url)

    def count(self, where: str = "") -> int:
        self.connection.pull()
        try:
            sql = "SELECT count(*) FROM spaces_thought" + (f" WHERE {where}" if where else "")
            return int(self.connection.execute(sql).fetchone()[0])
        except Exception as exc:  # the schema has not arrived yet
            if "no such table" in str(exc):
                return 0
            raise

    def close(self) -> None:
        self.connection.close()


def burst(
    inst: Instance, remote_url: str, writes: int, clients: int, directory: Path
) -> dict[str, Any]:
    """``writes`` API writes from ``clients`` threads as fast as they answer; the pushes the
    instance made, and how long after the last answer a replica of the remote holds them all."""
    status = Client(inst.url, inst.token)
    pushes_before = status.ok("GET", "/api/sync/status")["pushes"]
    watcher = Watcher(remote_url, directory)
    prefix = f"burst{time.monotonic_ns()}-"
    where = f"key LIKE '{prefix}%'"
    latencies: list[float] = []
    lock = threading.Lock()

    def run(worker: int) -> None:
        client = Client(inst.url, inst.token)
        for index in range(worker, writes, clients):
            body = {"key": f"{prefix}{index}", "title": "Burst"}
            started = time.perf_counter()
            client.ok("POST", thoughts_path(inst.space()), body)
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
        client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ended = time.perf_counter()
    on_remote_s = None
    while time.perf_counter() - ended < 60:
        if watcher.count(where) >= writes:
            on_remote_s = time.perf_counter() - ended
            break
        time.sleep(0.002)
    drained_s = None
    while time.perf_counter() - ended < 60:
        state = status.ok("GET", "/api/sync/status")
        if state["pending_changes"] == 0:
            drained_s = time.perf_counter() - ended
            break
        time.sleep(0.01)
    pushes = status.ok("GET", "/api/sync/status")["pushes"] - pushes_before
    watcher.close()
    status.close()
    return {
        "writes": writes,
        "clients": clients,
        "burst_s": ended - started,
        "pushes": pushes,
        "on_remote_after_s": on_remote_s,
        "instance_drained_after_s": drained_s,
        "write_ms": latencies,
    }


# --- 6. reads ----------------------------------------------------------------------------


def reads(targets: list[tuple[str, Instance, str]], reps: dict[str, int]) -> dict[str, Any]:
    """The space page (HTML, session) and the thoughts list API (limit 1000, the maximum page)
    of spaces of each size, on each instance, interleaved; server and client milliseconds."""
    results: dict[str, dict[str, list[float]]] = {}
    jobs: list[tuple[str, Client, str]] = []
    for label, inst, size in targets:
        space = inst.space(size)
        page = Client(inst.url, session=str(inst.data["session"]))
        api = Client(inst.url, inst.token)
        jobs.append((f"{label}|{size}|page", page, f"/spaces/{space}/"))
        jobs.append((f"{label}|{size}|api", api, thoughts_path(space) + "?limit=1000"))
    for name, client, path in jobs:
        client.ok("GET", path)  # warm up
        results[name] = {"server": [], "client": []}
    for round_index in range(max(reps.values())):
        for name, client, path in random.sample(jobs, len(jobs)):
            if round_index >= reps[name.split("|")[1]]:
                continue
            status, _, client_ms, server_ms = client.call("GET", path, timeout=120)
            if status != 200:
                raise RuntimeError(f"{name}: {path} answered {status}")
            results[name]["server"].append(server_ms or 0.0)
            results[name]["client"].append(client_ms)
    for _, client, _ in jobs:
        client.close()
    return results


# --- 7. recovery after a remote reset ----------------------------------------------------


def recovery(
    inst: Instance,
    remote: Server,
    expected: int,
    timeout: float,
    directory: Path,
    keep: Callable[[Server], None],
) -> dict[str, Any]:
    """Stop the remote, move its files away, start an empty one at the same address, write
    one thought; then, black-box, when the remote holds every thought again (and the new one)
    and when the instance reports itself healthy."""
    status = Client(inst.url, inst.token)
    deadline = time.monotonic() + 60
    while status.ok("GET", "/api/sync/status")["pending_changes"]:
        if time.monotonic() > deadline:
            raise RuntimeError("the instance did not push its data before the reset")
        time.sleep(0.1)
    remote_file = Path(remote.log_path).with_name("remote.db")
    port = remote.port
    remote.stop()
    moved = directory / "reset-away"
    moved.mkdir(parents=True, exist_ok=True)
    for path in remote_file.parent.glob("remote.db*"):
        shutil.move(str(path), moved / path.name)
    fresh = start_turso_sync_server(remote_file, port=port)
    keep(fresh)
    reset_at = time.perf_counter()
    key = f"after-reset-{time.monotonic_ns()}"
    write_status, _, write_ms, _ = status.call(
        "POST", thoughts_path(inst.space()), {"key": key, "title": "After the reset"}
    )
    timeline: list[dict[str, Any]] = []
    holds_all_s = healthy_s = None
    last_state: dict[str, Any] = {}
    remote_count = 0
    watch_dir = Path(tempfile.mkdtemp(dir=directory))
    watcher: Watcher | None = None
    while time.perf_counter() - reset_at < timeout:
        elapsed = time.perf_counter() - reset_at
        code, answer, _, _ = status.call("GET", "/api/sync/status")
        if code != 200:  # 503 while the replica's files are being rebuilt
            time.sleep(0.1)
            continue
        last_state = answer
        if healthy_s is None and last_state["healthy"] and last_state["pending_changes"] == 0:
            healthy_s = elapsed
        try:
            watcher = watcher or Watcher(fresh.url, watch_dir)
            remote_count = watcher.count()
            has_new = watcher.count(f"key = '{key}'") == 1
        except Exception as exc:
            timeline.append({"t": round(elapsed, 2), "watch_error": str(exc)[:200]})
            if watcher is not None:
                watcher.close()
            watcher, has_new = None, False
        if holds_all_s is None and remote_count >= expected + 1 and has_new:
            holds_all_s = elapsed
        point = {
            "remote_count": remote_count,
            "healthy": last_state["healthy"],
            "pending": last_state["pending_changes"],
            "last_error": (last_state["last_error"] or "")[:200],
        }
        if not timeline or {k: timeline[-1].get(k) for k in point} != point:
            timeline.append({"t": round(elapsed, 2), **point})
        if holds_all_s is not None and healthy_s is not None:
            break
        time.sleep(0.2)
    if watcher is not None:
        watcher.close()
    status.close()
    return {
        "expected": expected + 1,
        "write_status": write_status,
        "write_ms": write_ms,
        "remote_holds_all_s": holds_all_s,
        "healthy_s": healthy_s,
        "remote_count_at_end": remote_count,
        "state_at_end": {
            k: last_state.get(k)
            for k in ("healthy", "pending_changes", "pushes", "last_error", "status")
        },
        "timeline": timeline[:40],
        "timeout_s": timeout,
    }
