"""ThoughtSpace instances in a syncing mode, as separate processes (each owns its replica)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.live.servers import app_env


def sync_env(tmp_path: Path, name: str, mode: str, remote_url: str) -> dict[str, str]:
    env = app_env(tmp_path / name / "ts.db")
    env.update(THOUGHTSPACE_DB_MODE=mode, TURSO_DATABASE_URL=remote_url, TURSO_SYNC_INTERVAL="1")
    return env


def api(
    base_url: str, method: str, path: str, token: str, body: Any = None, timeout: float = 10
) -> tuple[int, Any]:
    """One JSON API call; returns (status, parsed body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def wait_until(predicate: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
