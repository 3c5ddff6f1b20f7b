"""What a process knows of the others' writes on their way (spaces.fleet): a 404 waits for
a process that said it is about to push until it has pushed, never for itself, and not for
one that said so long ago and never pushed (it is failing to push, or it stopped)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator

import pytest

from spaces import fleet
from spaces.live import INSTANCE_ID


@pytest.fixture(autouse=True)
def nothing_pending() -> Iterator[None]:
    fleet._pending.clear()
    yield
    fleet._pending.clear()


def waited(timeout: float = 2.0) -> float:
    started = time.monotonic()
    fleet.wait_for_pushes(timeout)
    return time.monotonic() - started


def test_no_wait_when_no_other_process_is_about_to_push():
    fleet._heard({"type": "fleet.pushing", "origin": INSTANCE_ID})  # itself: not waited for
    assert waited() < 0.1


def test_a_404_waits_until_the_process_that_is_about_to_push_has_pushed():
    fleet._heard({"type": "fleet.pushing", "origin": "other"})
    threading.Timer(0.3, fleet._heard, [{"type": "fleet.pushed", "origin": "other"}]).start()
    assert 0.25 < waited() < 1.5


def test_the_wait_is_bounded():
    fleet._heard({"type": "fleet.pushing", "origin": "other"})
    assert 0.25 < waited(0.3) < 1.0


def test_a_process_that_said_so_long_ago_is_not_waited_for():
    fleet._heard({"type": "fleet.pushing", "origin": "stopped"})
    fleet._pending["stopped"] -= fleet.STALE_SECONDS + 1
    assert waited() < 0.1
    fleet._heard({"type": "fleet.pushing", "origin": "other"})
    assert "stopped" not in fleet._pending  # forgotten as others come


ANNOUNCE_WHILE_STOPPING = """
import threading, time
from django.conf import settings
settings.DB_MODE = "offline"  # a fleet's mode; nothing here opens the database
from spaces import fleet
def last_push():
    time.sleep(0.5)  # the main thread has ended: the interpreter is shutting down
    fleet.announce_push()
threading.Thread(target=last_push).start()
"""


def test_the_last_push_of_a_stopping_process_is_announced(tmp_path):
    """A process's last push (at shutdown) is announced like any other: the others pull at
    once instead of at their timer."""
    from channels_redis.core import RedisChannelLayer

    from tests.live.servers import PYTHON, ROOT, redis_server

    with redis_server() as url:
        layer = RedisChannelLayer(hosts=[url], prefix="thoughtspace")

        async def listen() -> dict:
            channel = await layer.new_channel()
            await layer.group_add(fleet.GROUP, channel)
            env = {**os.environ, "THOUGHTSPACE_REDIS_URL": url, "DJANGO_DEBUG": "1"}
            process = await asyncio.create_subprocess_exec(
                PYTHON,
                "manage.py",
                "shell",
                "--no-imports",
                "-c",
                ANNOUNCE_WHILE_STOPPING,
                cwd=ROOT,
                env=env,
                stderr=asyncio.subprocess.PIPE,
            )
            message = await asyncio.wait_for(layer.receive(channel), timeout=30)
            _, stderr = await process.communicate()
            assert b"Could not tell" not in stderr, stderr.decode()
            return message

        message = asyncio.run(listen())
    assert message["type"] == "fleet.pushed" and message["origin"] != INSTANCE_ID
