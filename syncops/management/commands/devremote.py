"""Development helper: start a local remote (tursodb sync server or sqld) in the foreground,
print the environment that points ThoughtSpace at it, and stop it on Ctrl+C or SIGTERM."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from syncops.devservers import DevServerError, Server, start_sqld, start_turso_sync_server


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


class Command(BaseCommand):
    help = (
        "Start a local remote for development (tursodb --sync-server for offline mode, or "
        "sqld for replica/remote mode) on 127.0.0.1, print the env to use it, and keep it "
        "running until Ctrl+C or SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", choices=["turso", "sqld"], default="turso")
        parser.add_argument("--port", type=int, default=None, help="default: a free port")
        parser.add_argument(
            "--dir",
            default=None,
            help="where the remote keeps its data (default: var/devremote); it persists",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base = Path(options["dir"]) if options["dir"] else Path(settings.BASE_DIR) / "var/devremote"
        base = base.resolve()
        previous = {
            sig: signal.signal(sig, _raise_stop)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        server: Server | None = None
        try:
            try:
                if options["kind"] == "turso":
                    server = start_turso_sync_server(base / "turso" / "remote.db", options["port"])
                    modes = ["offline"]
                else:
                    server = start_sqld(base / "sqld", options["port"])
                    modes = ["replica", "remote"]
            except DevServerError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"# {server.name} is serving {server.url} (pid {server.pid}, log {server.log_path})"
            )
            self.stdout.write("# paste into the shell that runs manage.py / daphne:")
            self.stdout.write(
                f"export THOUGHTSPACE_DB_MODE={modes[0]} TURSO_DATABASE_URL={server.url}"
            )
            for mode in modes[1:]:
                self.stdout.write(
                    f"# or: export THOUGHTSPACE_DB_MODE={mode} TURSO_DATABASE_URL={server.url}"
                )
            self.stdout.write(
                f"# Ctrl+C stops the server (its data stays in {server.log_path.parent})"
            )
            self.stdout.flush()
            while server.running:
                time.sleep(0.2)
            raise CommandError(
                f"{server.name} exited with code {server.process.returncode}:\n{server.log_tail()}"
            )
        except (KeyboardInterrupt, _Stop):
            self.stdout.write("# stopping")
        finally:
            if server is not None:
                server.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
