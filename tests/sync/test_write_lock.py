"""The write lock of a replica that serialises writers: the sync worker's turn comes before
writers that were not queued yet, however many keep coming."""

from __future__ import annotations

import threading
import time

from syncops.replica.base import WriteLock


def test_the_worker_waits_for_the_writers_queued_before_it_not_for_a_stream_of_them() -> None:
    lock = WriteLock()
    turns = 0
    stop = threading.Event()

    def writer() -> None:
        nonlocal turns
        while not stop.is_set():
            with lock:  # one transaction after another, as requests under load
                turns += 1
                time.sleep(0.002)

    writers = [threading.Thread(target=writer) for _ in range(4)]
    for thread in writers:
        thread.start()
    try:
        time.sleep(0.1)
        before = turns
        with lock.first():
            waited_for = turns - before
        assert waited_for <= len(writers) + 1, waited_for  # the holder and those queued
        assert turns > before or waited_for == 0
    finally:
        stop.set()
        for thread in writers:
            thread.join()


def test_a_writer_that_cannot_get_its_turn_in_time_gives_up() -> None:
    lock = WriteLock()
    with lock:
        started = time.monotonic()
        got = []
        thread = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.1)))
        thread.start()
        thread.join()
    assert got == [False] and 0.09 <= time.monotonic() - started < 2
    assert lock.acquire(timeout=0) and lock.locked()
    lock.release()
    assert not lock.locked()
