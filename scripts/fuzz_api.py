#!/usr/bin/env python
"""Fuzz the JSON API with schemathesis against a live instance, as an attacker would.

    .venv/bin/python scripts/fuzz_api.py [--max-time SECONDS] [schemathesis run options]
    .venv/bin/python scripts/with_remote.py offline -- .venv/bin/python scripts/fuzz_api.py

A fresh database with the demo data (in the storage mode of THOUGHTSPACE_DB_MODE, local by
default), one daphne with DJANGO_DEBUG=0, and schemathesis with every check and its stateful
phase, as the demo user's token, for a bounded time. The run fails on any server error, any
response that does not match the OpenAPI document, and any status the document does not
list. What the checks may not count as failures is configured, with the reason, in
scripts/schemathesis.toml. Exit code: schemathesis'.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live.servers import daphnes, prepare_database  # noqa: E402

SCHEMATHESIS = ROOT / ".venv" / "bin" / "schemathesis"
CONFIG = ROOT / "scripts" / "schemathesis.toml"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-time", type=int, default=120, help="seconds of fuzzing")
    options, extra = parser.parse_known_args(argv)
    mode = os.environ.get("THOUGHTSPACE_DB_MODE", "local")
    with tempfile.TemporaryDirectory(prefix="thoughtspace-fuzz-") as directory:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update(
            DJANGO_SETTINGS_MODULE="thoughtspace.settings",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            THOUGHTSPACE_DB_MODE=mode,
            THOUGHTSPACE_DB_PATH=str(Path(directory) / "thoughtspace.db"),
        )
        demo = prepare_database(env)
        with daphnes(env) as (url,):
            print(f"==> schemathesis ({mode} mode, {options.max_time} s) against {url}", flush=True)
            command = [
                str(SCHEMATHESIS),
                "--config-file",
                str(CONFIG),
                "run",
                f"{url}/api/openapi.json",
                "--checks",
                "all",
                "--max-time",
                str(options.max_time),
                "--header",
                f"Authorization: Bearer {demo.token}",
                "--workers",
                "1",
                *extra,
            ]
            result = subprocess.run(command, cwd=ROOT, env=env)
            if result.returncode != 0:
                log = next(Path(directory).glob("*.daphne-*.log"), None)
                if log is not None:
                    print(f"==> the server's log ({log.name}), last lines:", flush=True)
                    print("\n".join(log.read_text().splitlines()[-60:]), flush=True)
            return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
