"""What a process knows of the others' writes on their way (spaces.fleet): a 404 waits for
a process that said it is about to push until it has pushed, never for itself, and not for
one that said so long ago and never pushed (it is failing to push, or it stopped)."""

from __future__ import annotations

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
