#!/usr/bin/env python
"""Run a command in a syncing storage mode against a fresh local remote, then stop it.

    .venv/bin/python scripts/with_remote.py offline -- .venv/bin/python -m pytest tests/api

offline uses a tursodb sync server; replica and remote use sqld. The command gets
THOUGHTSPACE_DB_MODE and TURSO_DATABASE_URL; its exit code is returned.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from syncops.devservers import start_sqld, start_turso_sync_server  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("replica", "offline", "remote") or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    mode, command = argv[0], argv[2:]
    with tempfile.TemporaryDirectory(prefix=f"thoughtspace-{mode}-") as directory:
        if mode == "offline":
            server = start_turso_sync_server(Path(directory) / "remote.db")
        else:
            server = start_sqld(Path(directory) / "sqld")
        with server:
            env = {**os.environ, "THOUGHTSPACE_DB_MODE": mode, "TURSO_DATABASE_URL": server.url}
            print(f"==> {mode} mode against {server.url}: {' '.join(command)}", flush=True)
            return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
