"""Real servers for the live-update tests and scripts/bench_live.py: Redis, and daphne instances
sharing one local database file. Each binds 127.0.0.1 on a free port and is stopped on exit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncops.devservers import free_port, port_open

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def _wait_for_port(port: int, process: subprocess.Popen[Any], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        if port_open(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway Redis without persistence; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run scripts/setup.sh redis-server")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    process = subprocess.Popen([*args, "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process, "redis-server", 10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


def app_env(db_path: Path, redis_url: str | None = None) -> dict[str, str]:
    """The environment of a ThoughtSpace process in local mode on ``db_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "THOUGHTSPACE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="thoughtspace.settings",
        DJANGO_DEBUG="1",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        THOUGHTSPACE_DB_MODE="local",
        THOUGHTSPACE_DB_PATH=str(db_path),
    )
    if redis_url:
        env["THOUGHTSPACE_REDIS_URL"] = redis_url
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


@dataclass
class DemoData:
    """The demo user (demo / demo-password), a bearer token of theirs and the demo space."""

    username: str
    password: str
    token: str
    space_id: str


SEED_SCRIPT = """
import io
from django.core.management import call_command
from spaces.models import Space
call_command("seed_demo")
out = io.StringIO()
call_command("create_token", "demo", stdout=out)
print("TOKEN", out.getvalue().split()[-1])
print("SPACE", Space.objects.get(title="Demo space").pk)
"""


def prepare_database(env: dict[str, str]) -> DemoData:
    """Migrate, then add the demo user, the demo space and a token (two processes, not four:
    each Django start costs seconds on a slow machine)."""
    manage(env, "migrate", "--noinput")
    lines = manage(env, "shell", "--no-imports", "-c", SEED_SCRIPT).splitlines()
    found = dict(line.split(" ", 1) for line in lines if line.startswith(("TOKEN ", "SPACE ")))
    return DemoData("demo", "demo-password", found["TOKEN"], found["SPACE"])


@contextmanager
def daphnes(env: dict[str, str], count: int = 1) -> Iterator[list[str]]:
    """``count`` daphne processes serving thoughtspace.asgi, started together; yields their
    base URLs. Their output goes to a log file next to the database."""
    processes, urls, logs = [], [], []
    try:
        for _ in range(count):
            port = free_port()
            log = open(Path(env["THOUGHTSPACE_DB_PATH"]).with_suffix(f".daphne-{port}.log"), "w")  # noqa: SIM115
            logs.append(log)
            command = [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
            processes.append(
                subprocess.Popen(
                    [*command, "thoughtspace.asgi:application"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for process, url in zip(processes, urls, strict=True):
            _wait_for_port(int(url.rsplit(":", 1)[1]), process, "daphne", 30)
        yield urls
    finally:
        for process in processes:
            _stop(process)
        for log in logs:
            log.close()


def request_json(
    base_url: str, method: str, path: str, token: str, body: Any = None, timeout: float = 10
) -> tuple[int, Any]:
    """One JSON API call with a bearer token; returns (status, decoded body), errors included."""
    request = urllib.request.Request(
        base_url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw) if raw else None


def api(base_url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """One JSON API call that must succeed; returns the decoded body."""
    status, data = request_json(base_url, method, path, token, body)
    if status >= 400:
        raise AssertionError(f"{method} {path} answered {status}: {data}")
    return data


def ws_url(base_url: str, space_id: str) -> str:
    return base_url.replace("http://", "ws://") + f"/ws/spaces/{space_id}/"
