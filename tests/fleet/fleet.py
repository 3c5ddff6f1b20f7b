"""A fleet on 127.0.0.1, as docs/deploy.md runs one: nginx with deploy/nginx/thoughtspace.conf
in front of N offline-mode processes of one tursodb primary and one Redis; each process is
started again whenever it exits (as systemd's ``Restart=always``). Used by tests/fleet and
by the load test (scripts/loadtest.py)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

TOKENS_SCRIPT = """
import io
from django.core.management import call_command
for n in range({n}):
    out = io.StringIO()
    call_command("create_token", "demo", "--name", f"client-{{n}}", stdout=out)
    print("TOKEN", out.getvalue().split()[-1])
out = io.StringIO()
call_command("create_token", "demo", "--name", "agent", "--mode", "confirm", stdout=out)
print("CONFIRM", out.getvalue().split()[-1])
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
        self.folder, self.port, self.upstreams = folder, free_port(), len(ports)
        folder.mkdir(parents=True, exist_ok=True)
        site = (ROOT / "deploy" / "nginx" / "thoughtspace.conf").read_text()
        # The shipped upstream's server lines, one per process of this fleet.
        lines = re.findall(r"^ *server 127\.0\.0\.1:8001 .*\n", site, re.MULTILINE)
        assert lines, "deploy/nginx/thoughtspace.conf has no 'server 127.0.0.1:8001' line"
        ours = "".join(lines[0].replace(":8001 ", f":{port} ") for port in ports)
        site = re.sub(r"(^ *server 127\.0\.0\.1:800\d .*\n)+", ours, site, flags=re.MULTILINE)
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

    def sources(self, count: int) -> list[str]:
        """``count`` client addresses (127.0.0.x) that nginx's address hash spreads evenly over
        the upstreams: which upstream an address lands on depends on the processes' ports, so
        the addresses are probed (``/healthz``) and read back from the access log."""
        by_upstream: dict[str, list[str]] = {}
        for n in range(2, 2 + 20 * count):
            source = f"127.0.0.{n}"
            status, _ = call("127.0.0.1", self.port, "GET", "/healthz", source=source)
            assert status == 200, status
            time.sleep(0.05)  # the access log is written as the request ends
            line = (self.folder / "access.log").read_text().splitlines()[-1].split()
            assert line[0] == source, line
            by_upstream.setdefault(line[2], []).append(source)
            rounds = zip(*by_upstream.values(), strict=False)
            picked = [address for round_ in rounds for address in round_]
            if len(by_upstream) == self.upstreams and len(picked) >= count:
                (self.folder / "access.log").write_text("")  # served_by counts what follows
                return picked[:count]
        raise AssertionError(f"{count} addresses do not reach every upstream: {by_upstream}")

    def stop(self) -> None:
        _stop(self.process)


def restart_command(root: Path) -> str:
    """deploy/rolling-restart.sh's ``RESTART`` for a fleet's processes, waiting as
    ``systemctl restart`` waits: SIGTERM, then until the process has exited (its supervisor
    starts it again). Without the wait the script would find the old process still ready."""
    pid = root / "daphne-{port}.pid"
    return f"pid=$(cat {pid}); kill -TERM $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done"


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


@dataclass
class Fleet:
    nginx: Nginx
    processes: list[Process]
    space: str
    tokens: list[str]  # direct tokens of the demo user, one per client
    confirm_token: str  # the demo user's, in confirm mode (an agent's changes are proposals)
    root: Path
    envs: list[dict[str, str]]


@contextmanager
def running_fleet(
    root: Path, *, processes: int = 3, tokens: int = 9, extra_env: dict[str, str] | None = None
) -> Iterator[Fleet]:
    """Migrate once (as thoughtspace-migrate.service), seed the demo data and ``tokens``
    tokens, prepare each process's own files (its unit's ``ExecStartPre``), start the
    processes and nginx; stop them all on the way out."""
    with redis_server() as redis_url:
        remote = start_turso_sync_server(root / "remote" / "remote.db")
        started: list[Process] = []
        nginx: Nginx | None = None
        try:
            envs = []
            for n in range(processes):
                env = sync_env(root, f"p{n}", "offline", remote.url)
                env["THOUGHTSPACE_REDIS_URL"] = redis_url
                # As deploy/systemd runs them: DEBUG off (no query log, no debug pages), one
                # secret key for all, timed pulls every 5 s (deploy/systemd/env.example).
                env.update(
                    DJANGO_DEBUG="0",
                    DJANGO_SECRET_KEY="fleet-test-key-" * 4,
                    TURSO_SYNC_INTERVAL="5",
                )
                env.update(extra_env or {})
                envs.append(env)
            manage(envs[0], "migrate", "--noinput")
            seeded = manage(envs[0], "shell", "--no-imports", "-c", SEED_SCRIPT)
            space = re.search(r"^SPACE (\S+)", seeded, re.MULTILINE)[1]  # type: ignore[index]
            made = manage(envs[0], "shell", "--no-imports", "-c", TOKENS_SCRIPT.format(n=tokens))
            found = re.findall(r"^TOKEN (\S+)", made, re.MULTILINE)
            confirm = re.search(r"^CONFIRM (\S+)", made, re.MULTILINE)[1]  # type: ignore[index]
            for env in envs[1:]:
                manage(env, "migrate", "--noinput")
            ports = [free_port() for _ in envs]
            started = [Process(env, port, root) for env, port in zip(envs, ports, strict=True)]
            for process in started:
                process.wait_ready()
            nginx = Nginx(root / "nginx", ports)
            yield Fleet(nginx, started, space, found, confirm, root, envs)
        finally:
            if nginx is not None:
                nginx.stop()
            for process in started:
                process.stop()
            remote.stop()
