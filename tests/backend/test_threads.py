"""Several threads, each with its own connection, write to one database concurrently."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from tests.backend.models import Sample, Unique

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6
WRITES = 25


def test_threads_writing_concurrently_lose_nothing() -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    connection_ids: set[int] = set()

    def writer(number: int) -> None:
        try:
            start.wait()
            connection_ids.add(id(connections["default"]))
            for i in range(WRITES):
                with transaction.atomic():
                    Sample.objects.create(name=f"t{number}-{i}", big=2**62 + i)
                    Unique.objects.create(code=f"t{number}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(connection_ids) == THREADS
    assert Sample.objects.count() == THREADS * WRITES
    assert Unique.objects.count() == THREADS * WRITES
    assert Sample.objects.filter(big__gte=2**62).count() == THREADS * WRITES


def test_thread_sees_rows_committed_by_another() -> None:
    Sample.objects.create(name="from-main")
    seen: list[int] = []

    def reader() -> None:
        try:
            seen.append(Sample.objects.filter(name="from-main").count())
        finally:
            connections.close_all()

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join(timeout=10)
    assert seen == [1]
