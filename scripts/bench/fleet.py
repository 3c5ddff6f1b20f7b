"""The processes a benchmark run needs, all children of the benchmark and all stopped by it:
remotes (tursodb, sqld), relays (netdelay), Redis, and ThoughtSpace instances (a prepared
database and daphne), plus a keep-alive HTTP client that reads ``Server-Timing``."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncops.devservers import Server, free_port, start_sqld, start_turso_sync_server
from tests.live.servers import _stop, _wait_for_port, app_env

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
_TIMING = re.compile(r"dur=([0-9.]+)")


class Relay:
    """A netdelay relay in front of ``upstream_port``: ``url`` to use, ``set_rtt`` and ``stats``."""

    def __init__(self, upstream_port: int, log: Path) -> None:
        self.log = open(log, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                *(PYTHON, "-m", "scripts.bench.netdelay", "--log-requests"),
                *("--upstream", f"127.0.0.1:{upstream_port}"),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.process.stdout is not None
        words = self.process.stdout.readline().split()
        if len(words) != 4:
            raise RuntimeError(f"netdelay did not start (see {log})")
        self.port, self.control_port = int(words[1]), int(words[3])
        self.url = f"http://127.0.0.1:{self.port}"

    def set_rtt(self, milliseconds: float) -> None:
        from scripts.bench.netdelay import ask

        ask(self.control_port, f"rtt {milliseconds}")

    def stats(self) -> dict[str, Any]:
        from scripts.bench.netdelay import ask

        return dict(ask(self.control_port, "stats"))

    def stop(self) -> None:
        _stop(self.process)
        self.log.close()


@dataclass
class Instance:
    """A ThoughtSpace instance: its environment, prepared data and, once started, its URL."""

    name: str
    mode: str
    env: dict[str, str]
    spaces: str = ""  # sizes of the extra spaces to seed, e.g. "1000,10000"
    data: dict[str, Any] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.urls[0]

    @property
    def token(self) -> str:
        return str(self.data["token"])

    def space(self, name: str = "demo") -> str:
        return str(self.data["spaces"][name])

    def db_path(self) -> Path:
        return Path(self.env["THOUGHTSPACE_DB_PATH"])


def instance(
    root: Path,
    name: str,
    mode: str,
    *,
    remote_url: str = "",
    redis_url: str | None = None,
    peer: bool = False,
    spaces: str = "",
) -> Instance:
    env = app_env(root / name / "ts.db", redis_url)
    env["DJANGO_SETTINGS_MODULE"] = (
        "scripts.bench.peer_settings" if peer else "scripts.bench.settings"
    )
    env["THOUGHTSPACE_DB_MODE"] = mode
    env["PYTHONUNBUFFERED"] = "1"
    # As deployed: no debug query log, no debug templates.
    env["DJANGO_DEBUG"] = "0"
    env["DJANGO_SECRET_KEY"] = "benchmark-only-secret-key-not-used-anywhere-else-0123456789"
    if remote_url:
        env["TURSO_DATABASE_URL"] = remote_url
    (root / name).mkdir(parents=True, exist_ok=True)
    return Instance(name, "stock sqlite3" if peer else mode, env, spaces)


def run_worker(env: dict[str, str], *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run a scripts.bench.worker step in a process of its own; returns its JSON result."""
    result = subprocess.run(
        [PYTHON, "-m", "scripts.bench.worker", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(
        f"worker {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}"
    )


def start_daphne(inst: Instance, *, prepare: bool = False) -> None:
    """One more daphne process for the instance; with ``prepare``, it first prepares the
    database in the same process (scripts/bench/asgi.py)."""
    port = free_port()
    log = open(inst.db_path().with_suffix(f".daphne-{port}.log"), "w")  # noqa: SIM115
    env = dict(inst.env)
    if prepare:
        env["BENCH_PREPARE_OUT"] = str(inst.db_path().with_suffix(".prepared.json"))
        env["BENCH_PREPARE_SPACES"] = inst.spaces
    command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    inst.processes.append(
        subprocess.Popen(
            [*command, "scripts.bench.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    log.close()
    inst.urls.append(f"http://127.0.0.1:{port}")


def wait_started(inst: Instance, timeout: float = 300) -> None:
    for process, url in zip(inst.processes, inst.urls, strict=True):
        _wait_for_port(int(url.rsplit(":", 1)[1]), process, f"daphne {inst.name}", timeout)
    if not inst.data:
        inst.data = json.loads(inst.db_path().with_suffix(".prepared.json").read_text())
    for url in inst.urls:
        Client(url, inst.token).call("GET", "/api/sync/status")  # Django is loaded


def stop_daphne(inst: Instance) -> None:
    for process in inst.processes:
        _stop(process)
    inst.processes.clear()
    inst.urls.clear()


class Fleet(ExitStack):
    """Everything started for one run; leaving the ``with`` stops it all."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def turso(self, name: str) -> Server:
        server = start_turso_sync_server(self.root / name / "remote.db")
        self.callback(server.stop)
        return server

    def sqld(self, name: str) -> Server:
        server = start_sqld(self.root / name)
        self.callback(server.stop)
        return server

    def relay(self, name: str, upstream: Server) -> Relay:
        relay = Relay(upstream.port, self.root / f"{name}.relay.log")
        self.callback(relay.stop)
        return relay

    def start(self, instances: list[Instance], *, extra: Instance | None = None) -> None:
        """Prepare and serve ``instances`` together; then ``extra`` gets a second process."""
        for inst in instances:
            self.callback(stop_daphne, inst)
            start_daphne(inst, prepare=True)
        for inst in instances:
            wait_started(inst)
        if extra is not None:
            start_daphne(extra)
            wait_started(extra)


@contextmanager
def fleet(root: Path) -> Iterator[Fleet]:
    with Fleet(root) as running:
        yield running


class Client:
    """Keep-alive HTTP/1.1 to one instance, with a bearer token or a session cookie."""

    def __init__(self, base_url: str, token: str | None = None, session: str | None = None):
        host, port = base_url.removeprefix("http://").rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if session:
            self.headers["Cookie"] = f"sessionid={session}"
        self.connection: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, body: Any = None, timeout: float = 30
    ) -> tuple[int, Any, float, float | None]:
        """(status, body: JSON decoded or text, client ms, server ms from Server-Timing)."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=data, headers=self.headers)
                response = self.connection.getresponse()
                raw = response.read()
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if response.getheader("Connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
            timing = _TIMING.search(response.getheader("Server-Timing") or "")
            server_ms = float(timing.group(1)) if timing else None
            kind = response.getheader("Content-Type") or ""
            decoded: Any = json.loads(raw) if raw and "json" in kind else raw.decode()
            return response.status, decoded, elapsed, server_ms
        raise AssertionError("unreachable")

    def ok(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        status, decoded, _, _ = self.call(method, path, body, timeout)
        if status >= 400:
            raise RuntimeError(f"{method} {path} answered {status}: {str(decoded)[:300]}")
        return decoded

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
