"""ThoughtSpace instances in a syncing mode, as separate processes (each owns its replica)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.live.servers import app_env, manage
from tests.live.servers import request_json as api

__all__ = ["api", "count", "keys", "sync_env", "thoughts", "wait_until"]

COUNT = "from spaces.models import Thought; print('COUNT', Thought.objects.count())"
THOUGHTS = """
import json
from spaces.models import Thought
rows = sorted([t.id, t.space_id, t.key, t.title] for t in Thought.objects.all())
print("THOUGHTS", json.dumps(rows))
"""


def sync_env(tmp_path: Path, name: str, mode: str, remote_url: str) -> dict[str, str]:
    env = app_env(tmp_path / name / "ts.db")
    env.update(THOUGHTSPACE_DB_MODE=mode, TURSO_DATABASE_URL=remote_url, TURSO_SYNC_INTERVAL="1")
    # These tests write as fast as they can with one token (bursts retried through a kill's
    # 503s): the per-token rate limit, tested in tests/api, would answer 429 for a minute.
    env["THOUGHTSPACE_API_TOKEN_RATE"] = "1000000/m"
    return env


def count(env: dict[str, str]) -> int:
    """How many thoughts the instance of ``env`` holds (in a process of its own)."""
    return int(manage(env, "shell", "--no-imports", "-c", COUNT).split("COUNT")[-1])


def thoughts(env: dict[str, str]) -> list[list[str]]:
    """[id, space id, key, title] of every thought the instance of ``env`` holds, sorted (in a
    process of its own): compared between copies, content and not only how many."""
    return json.loads(manage(env, "shell", "--no-imports", "-c", THOUGHTS).split("THOUGHTS ")[-1])


def keys(env: dict[str, str]) -> list[str]:
    """The sorted thought keys of the instance of ``env``."""
    return sorted(row[2] for row in thoughts(env))


def wait_until(predicate: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
