"""The background worker coalesces a stream of writes into few pushes, yet pushes a lone
write at once. A replica whose push only counts stands in for the network."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from typing import Any

import pytest

from syncops import scheduler as scheduler_module
from syncops.replica import Replica, SyncError
from syncops.scheduler import SyncScheduler


class CountingReplica(Replica):
    mode = "offline"

    def __init__(self) -> None:
        super().__init__("unused.db")
        self.pushed_at: list[float] = []
        self.pushed = threading.Event()

    def push(self) -> None:
        self.pushed_at.append(time.monotonic())
        self.pushed.set()


def started_scheduler(idle: float = 0.3) -> tuple[CountingReplica, SyncScheduler]:
    """A running scheduler, ``idle`` seconds after the push every start makes."""
    replica = CountingReplica()
    scheduler = SyncScheduler(replica, interval=3600).start()
    assert replica.pushed.wait(5)
    replica.pushed.clear()
    time.sleep(idle)
    replica.pushed_at.clear()
    return replica, scheduler


def test_a_stream_of_writes_is_pushed_in_few_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler_module, "MIN_PUSH_INTERVAL", 0.4, raising=False)
    replica, scheduler = started_scheduler()
    try:
        for _ in range(100):  # one write every 10 ms for a second
            scheduler.notify_write()
            time.sleep(0.01)
        time.sleep(0.5)
    finally:
        scheduler.stop(flush=False)
    # At most one push per MIN_PUSH_INTERVAL while writes keep coming, plus the last one;
    # a push after every 20 ms coalescing window would make about fifty.
    assert 2 <= len(replica.pushed_at) <= 5, len(replica.pushed_at)


def test_a_lone_write_is_pushed_without_waiting_for_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduler_module, "MIN_PUSH_INTERVAL", 2.0, raising=False)
    replica, scheduler = started_scheduler(idle=2.5)
    try:
        written = time.monotonic()
        scheduler.notify_write()
        assert replica.pushed.wait(5)
    finally:
        scheduler.stop(flush=False)
    # The last push (at start) was longer ago than the interval: no wait for it.
    assert replica.pushed_at[0] - written < 1.5


def test_a_pull_does_not_wait_for_a_push_to_gather_its_burst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write right after a push waits up to MIN_PUSH_INTERVAL; another process's write,
    which a pull brings, does not wait with it."""
    monkeypatch.setattr(scheduler_module, "MIN_PUSH_INTERVAL", 2.0, raising=False)
    replica, scheduler = started_scheduler(idle=0)
    try:
        scheduler.notify_write()  # goes about 2 s after the push at start
        time.sleep(0.1)
        asked = time.monotonic()
        assert scheduler.fresh_pull(timeout=1.5)
        pulled = time.monotonic() - asked
        assert not replica.pushed_at  # the write still gathers company
        assert replica.pushed.wait(5)
    finally:
        scheduler.stop(flush=False)
    assert pulled < 0.5, pulled


class PullTimingReplica(CountingReplica):
    def __init__(self) -> None:
        super().__init__()
        self.pulled_at: list[float] = []

    def pull(self) -> bool:
        self.pulled_at.append(time.monotonic())
        return True


def test_asked_for_pulls_gather_within_the_pull_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a stream of other processes' pushes, each asking for a pull, pulls go at most
    every MIN_PULL_INTERVAL; the first one after a quiet spell goes at once."""
    monkeypatch.setattr(scheduler_module, "MIN_PULL_INTERVAL", 0.3)
    replica = PullTimingReplica()
    scheduler = SyncScheduler(replica, interval=3600).start()
    try:
        time.sleep(0.5)  # the start's push and pull are done
        replica.pulled_at.clear()
        asked = time.monotonic()
        scheduler.request_pull()
        time.sleep(0.1)
        assert len(replica.pulled_at) == 1 and replica.pulled_at[0] - asked < 0.1
        for _ in range(40):  # a request every 25 ms for a second
            scheduler.request_pull()
            time.sleep(0.025)
        time.sleep(0.4)
    finally:
        scheduler.stop(flush=False)
    gaps = [b - a for a, b in zip(replica.pulled_at, replica.pulled_at[1:], strict=False)]
    assert 3 <= len(replica.pulled_at) <= 6, replica.pulled_at
    assert min(gaps) >= 0.29, gaps


class HousekeptReplica(CountingReplica):
    def __init__(self) -> None:
        super().__init__()
        self.checkpointed = threading.Event()

    def checkpoint(self, *, min_wal_bytes: int = 0) -> bool:
        if min_wal_bytes == 0:  # the timer's: whatever the WAL holds
            self.checkpointed.set()
        return True


def test_the_timer_checkpoints_and_runs_maintenance_at_start() -> None:
    maintained = threading.Event()
    replica = HousekeptReplica()
    scheduler = SyncScheduler(replica, interval=3600, maintain=maintained.set).start()
    try:
        assert replica.checkpointed.wait(5) and maintained.wait(5)
    finally:
        scheduler.stop(flush=False)


class JournalingReplica(HousekeptReplica):
    """A replica whose every push brings a pull forward (to reconcile its journal), as offline
    mode's does."""

    journals = True

    def __init__(self) -> None:
        super().__init__()
        self.pulls = 0
        self.timer_checkpoints = 0

    def pull(self) -> bool:
        self.pulls += 1
        return False

    def checkpoint(self, *, min_wal_bytes: int = 0) -> bool:
        self.timer_checkpoints += min_wal_bytes == 0
        return super().checkpoint(min_wal_bytes=min_wal_bytes)


def test_a_push_is_followed_by_a_pull_soon_not_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A journaling replica's push brings its pull (which reconciles the journal) forward to
    within ``RECONCILE_AFTER_PUSH_SECONDS``, whatever the timer says; not at once, so that a
    busy fleet's processes, which pull at each other's pushes, do not pull twice as often."""
    monkeypatch.setattr(scheduler_module, "RECONCILE_AFTER_PUSH_SECONDS", 0.5)
    replica = JournalingReplica()
    scheduler = SyncScheduler(replica, interval=3600).start()
    try:
        time.sleep(0.2)  # the first pull (at start) is done
        pulls = replica.pulls
        scheduler.notify_write()
        time.sleep(0.35)
        assert len(replica.pushed_at) == 2 and replica.pulls == pulls  # pushed, not pulled yet
        time.sleep(0.6)
        assert replica.pulls == pulls + 1
    finally:
        scheduler.stop(flush=False)


def test_housekeeping_keeps_its_clock_under_steady_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pull follows every push, so under steady writes the timer's pull never comes; the
    checkpoint of whatever WAL is left, and the pruning, must come all the same."""
    monkeypatch.setattr(scheduler_module, "MIN_PUSH_INTERVAL", 0.05, raising=False)
    monkeypatch.setattr(scheduler_module, "RECONCILE_AFTER_PUSH_SECONDS", 0.0)
    replica = JournalingReplica()
    scheduler = SyncScheduler(replica, interval=0.3).start()
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:  # a write every 20 ms: a pull after every push
            scheduler.notify_write()
            time.sleep(0.02)
    finally:
        scheduler.stop(flush=False)
    assert replica.pulls >= 10
    assert replica.timer_checkpoints >= 4, replica.timer_checkpoints  # about 2 s / 0.3 s


def test_a_failing_maintenance_does_not_stop_the_worker() -> None:
    def broken() -> None:
        raise OSError("disk gone")

    replica = HousekeptReplica()
    scheduler = SyncScheduler(replica, interval=0.2, maintain=broken).start()
    try:
        assert replica.checkpointed.wait(5)
        replica.checkpointed.clear()
        assert replica.checkpointed.wait(5) and scheduler.running  # the next timer sync came
    finally:
        scheduler.stop(flush=False)


def test_pausing_background_sync_nests() -> None:
    """``manage.py migrate`` pauses it too: a command that calls migrate stays paused after."""
    from syncops import runtime

    with runtime.background_sync_paused():
        with runtime.background_sync_paused():
            pass
        assert runtime._paused
    assert not runtime._paused


class FailingOnceReplica(CountingReplica):
    """Its first push (after the start's) fails as a remote that does not answer."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def push(self) -> None:
        if len(self.pushed_at) >= 1 and self.failures:
            self.failures -= 1
            raise SyncError("Push to the remote failed: connection refused")
        super().push()


def test_each_push_names_the_requests_whose_writes_it_carried(caplog, monkeypatch):
    from syncops import logs

    monkeypatch.setattr(scheduler_module, "MAX_BACKOFF_SECONDS", 0.2, raising=False)
    events: list[tuple[str, bool, str]] = []
    replica = FailingOnceReplica()
    scheduler = SyncScheduler(
        replica, interval=3600, on_event=lambda kind, ok, ms, text: events.append((kind, ok, text))
    ).start()
    try:
        assert replica.pushed.wait(5)  # the start's push
        replica.pushed.clear()
        for request in ("req-1", "req-2"):
            context = contextvars.copy_context()
            context.run(logs.request_id.set, request)
            context.run(scheduler.notify_write)
        with caplog.at_level(logging.INFO, logger="syncops"):
            deadline = time.monotonic() + 5
            while not any(not ok for _, ok, _ in events) and time.monotonic() < deadline:
                time.sleep(0.02)
            contextvars.Context().run(scheduler.notify_write)  # a write outside a request
            assert replica.pushed.wait(5)
            time.sleep(0.1)
    finally:
        scheduler.stop(flush=False)
    failed = [text for kind, ok, text in events if kind == "push" and not ok]
    assert failed and "Writes of requests req-1, req-2 wait." in failed[0]
    pushed = [r for r in caplog.records if r.getMessage().startswith("Pushed the writes")]
    assert [r.requests for r in pushed] == [["req-1", "req-2"]]


def test_at_debug_level_every_push_and_pull_says_when_it_ran(caplog):
    """scripts/loadtest.py follows a write to every process by these records."""
    replica, scheduler = started_scheduler(idle=0.1)
    try:
        with caplog.at_level(logging.DEBUG, logger="syncops"):
            before = time.time()
            scheduler.notify_write()
            assert replica.pushed.wait(5)
            assert scheduler.fresh_pull(5)
    finally:
        scheduler.stop(flush=False)
    syncs = {r.sync: r for r in caplog.records if hasattr(r, "sync")}
    assert set(syncs) == {"push", "pull"}, caplog.records
    for record in syncs.values():
        assert before <= record.began <= record.created
        assert 0 <= record.duration_ms < 5000
    assert syncs["pull"].changed is False and syncs["pull"].getMessage().startswith("Pull took")


def test_a_worker_thread_survives_recording_an_event_while_the_database_is_shut(
    django_db_setup: object, django_db_blocker: Any
) -> None:
    """A worker opened its connections, then the database was shut to it (pytest-django does
    this while a test without the database runs, and the worker's push failed then). Its
    bookkeeping must not raise: a worker thread died of it, and the test command's log
    showed the traceback."""
    from django.db import connection

    from syncops.runtime import record_event

    errors: list[BaseException] = []

    def work() -> None:
        with django_db_blocker.unblock():
            connection.ensure_connection()  # the worker had its connections open
        try:
            record_event("push", False, 1.0, "a push failed")
        except BaseException as exc:  # noqa: BLE001 - whatever it is, it would kill the thread
            errors.append(exc)
        finally:
            with django_db_blocker.unblock():
                connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert errors == []
