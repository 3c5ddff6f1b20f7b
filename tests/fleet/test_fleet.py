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
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from syncops.devservers import free_port, start_turso_sync_server
from tests.live.servers import (
    PYTHON,
    ROOT,
    SEED_SCRIPT,
    _stop,
    _wait_for_port,
    manage,
    redis_server,
)
from tests.sync.instances import sync_env, wait_until

CLIENTS = 9  # each from an address of its own (127.0.0.2, ...): nginx hashes addresses
SETTLED = 3.0  # seconds after which a client edits or deletes a thought it created
TOKENS_SCRIPT = """
import io
from django.core.management import call_command
for n in range({n}):
    out = io.StringIO()
    call_command("create_token", "demo", "--name", f"client-{{n}}", stdout=out)
    print("TOKEN", out.getvalue().split()[-1])
"""


class Process:
    """One daphne on a fixed port, started again whenever it exits, as systemd's
    ``Restart=always`` does (deploy/systemd); its pid is in ``pid_file``."""

    def __init__(self, env: dict[str, str], port: int, folder: Path) -> None:
        self.env, self.port = env, port
        self.pid_file = folder / f"daphne-{port}.pid"
        self.log = folder / f"daphne-{port}.log"
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            with open(self.log, "ab") as out:
                self.process = subprocess.Popen(
                    [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
                    + ["thoughtspace.asgi:application"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            self.starts += 1
            self.pid_file.write_text(str(self.process.pid))
            self.process.wait()
            time.sleep(0.2)

    def wait_ready(self) -> None:
        def ready() -> bool:
            try:
                status, _ = call("127.0.0.1", self.port, "GET", "/readyz")
            except OSError:
                return False
            return status == 200

        wait_until(ready, timeout=60, what=f"/readyz of port {self.port}")

    def stop(self) -> None:
        self.stopping.set()
        if self.process is not None:
            _stop(self.process)
        self.thread.join(30)


def call(
    host: str,
    port: int,
    method: str,
    path: str,
    token: str = "",
    body: Any = None,
    source: str | None = None,
) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(
        host, port, timeout=30, source_address=(source, 0) if source else None
    )
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return response.status, json.loads(raw) if raw and raw[:1] in b"{[" else raw


class Nginx:
    """nginx with deploy/nginx/thoughtspace.conf, its upstream on ``ports`` and listening on
    127.0.0.1; ``reload`` is what deploy/rolling-restart.sh is given."""

    def __init__(self, folder: Path, ports: list[int]) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        assert Path(binary).exists(), "nginx is not installed: run scripts/setup.sh nginx-light"
        self.folder, self.port = folder, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        site = (ROOT / "deploy" / "nginx" / "thoughtspace.conf").read_text()
        for shipped, port in zip((8001, 8002, 8003), ports, strict=True):
            site = site.replace(f"127.0.0.1:{shipped} ", f"127.0.0.1:{port} ")
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        self.site = folder / "thoughtspace.conf"
        self.site.write_text(site)
        temp = "".join(
            f"{kind}_temp_path {folder / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (folder / "nginx.conf").write_text(
            ("user root;\n" if os.geteuid() == 0 else "")
            + f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
            + "worker_processes 1;\nevents { worker_connections 1024; }\n"
            + "http {\n"
            + "log_format upstream '$remote_addr $status $upstream_addr $request_id $request';\n"
            + f"access_log {folder / 'access.log'} upstream;\n{temp}include {self.site};\n}}\n"
        )
        self.command = [binary, "-p", str(folder), "-c", str(folder / "nginx.conf")]
        with open(folder / "stderr.log", "wb") as stderr:
            self.process = subprocess.Popen([*self.command, "-g", "daemon off;"], stderr=stderr)
        _wait_for_port(self.port, self.process, "nginx", 10)

    @property
    def reload(self) -> str:
        return " ".join([*self.command, "-s", "reload"])

    def served_by(self) -> Counter[str]:
        """How many requests each upstream answered (the access log)."""
        lines = (self.folder / "access.log").read_text().splitlines()
        return Counter(line.split()[2] for line in lines if len(line.split()) > 2)

    def stop(self) -> None:
        _stop(self.process)


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
        source, token = f"127.0.0.{n + 2}", self.tokens[n]
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


def titles_on(port: int, token: str, space: str) -> dict[str, str]:
    """Every thought of the space on one process (directly, not through nginx): key -> title."""
    found: dict[str, str] = {}
    offset = 0
    while True:
        path = f"/api/spaces/{space}/thoughts?limit=100&offset={offset}"
        status, body = call("127.0.0.1", port, "GET", path, token)
        assert status == 200, (port, status, body)
        found.update({item["key"]: item["title"] for item in body["items"]})
        offset += len(body["items"])
        if offset >= body["count"] or not body["items"]:
            return found


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with redis_server() as redis_url:
        remote = start_turso_sync_server(tmp_path / "remote" / "remote.db")
        processes: list[Process] = []
        nginx: Nginx | None = None
        try:
            envs = []
            for name in ("a", "b", "c"):
                env = sync_env(tmp_path, name, "offline", remote.url)
                env["THOUGHTSPACE_REDIS_URL"] = redis_url
                envs.append(env)
            manage(envs[0], "migrate", "--noinput")  # once, as thoughtspace-migrate does
            seeded = manage(envs[0], "shell", "--no-imports", "-c", SEED_SCRIPT)
            space = re.search(r"^SPACE (\S+)", seeded, re.MULTILINE)[1]  # type: ignore[index]
            made = manage(envs[0], "shell", "--no-imports", "-c", TOKENS_SCRIPT.format(n=CLIENTS))
            tokens = re.findall(r"^TOKEN (\S+)", made, re.MULTILINE)
            for env in envs[1:]:  # each process's own files, as its unit's ExecStartPre
                manage(env, "migrate", "--noinput")
            ports = [free_port() for _ in envs]
            processes = [
                Process(env, port, tmp_path) for env, port in zip(envs, ports, strict=True)
            ]
            for process in processes:
                process.wait_ready()
            nginx = Nginx(tmp_path / "nginx", ports)
            yield {
                "nginx": nginx,
                "processes": processes,
                "space": space,
                "tokens": tokens,
                "tmp": tmp_path,
            }
        finally:
            if nginx is not None:
                nginx.stop()
            for process in processes:
                process.stop()
            remote.stop()


def assert_converged(fleet: dict[str, Any], load: Load) -> None:
    """Every process holds every acknowledged write, and nothing deleted."""
    token, space = fleet["tokens"][0], fleet["space"]
    alive = {key: title for key, title in load.expected.items() if title is not None}
    gone = {key for key, title in load.expected.items() if title is None}
    for process in fleet["processes"]:

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
    nginx, processes = fleet["nginx"], fleet["processes"]
    load = Load(nginx.port, fleet["space"], fleet["tokens"])

    # Mixed clients through nginx, with a WebSocket client of the space listening there too.
    load.start()
    events = asyncio.run(_listen(nginx.port, fleet["space"], fleet["tokens"][0], 8))
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
    pids = fleet["tmp"] / "daphne-{port}.pid"
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "rolling-restart.sh"), *(str(p.port) for p in processes)],
        env={
            **os.environ,
            "UPSTREAM_CONF": str(nginx.site),
            "NGINX_RELOAD": nginx.reload,
            "RESTART": f"kill -TERM $(cat {pids})",
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
