"""A local control channel to the process that owns an offline replica.

pyturso locks a database file to one process, so ``manage.py sync`` and ``sync_status`` ask
the owner (the server) over a Unix socket beside the database file instead of opening it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger("syncops")

Handler = Callable[[str], dict[str, Any]]


def socket_path(database_path: str) -> Path:
    return Path(f"{database_path}.control.sock")


class _RequestHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        try:
            request = json.loads(self.rfile.readline(4096) or b"{}")
            reply = self.server.answer(str(request.get("op", "")))  # type: ignore[attr-defined]
        except Exception as exc:  # the owner must keep serving whatever a client sends
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        self.wfile.write(json.dumps(reply, default=str).encode() + b"\n")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, answer: Handler) -> None:
        self.answer = answer
        super().__init__(path, _RequestHandler)


class ControlServer:
    """Serves ``answer(op)`` on the replica's socket until stopped (a daemon thread)."""

    def __init__(self, database_path: str, answer: Handler) -> None:
        self.path = socket_path(database_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.unlink()  # left by a process that died; we own the file lock now
        self._server = _Server(str(self.path), answer)
        os.chmod(self.path, 0o600)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="syncops-control", daemon=True
        )

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)


def ask_owner(database_path: str, op: str, *, timeout: float = 30.0) -> dict[str, Any] | None:
    """The owner's answer to ``op``, or None when no process owns the replica."""
    path = socket_path(database_path)
    if not path.exists():
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        try:
            client.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            return None  # a stale socket: its process is gone
        client.sendall(json.dumps({"op": op}).encode() + b"\n")
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = client.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            return {"ok": False, "error": f"the server did not answer within {timeout:g} s"}
    result: dict[str, Any] = json.loads(data or b'{"ok": false, "error": "no answer"}')
    return result
