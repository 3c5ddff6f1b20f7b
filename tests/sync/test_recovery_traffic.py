"""Requests during a recovery, against real servers: reads keep answering from the old copy
while the replica is rebuilt, a write answers 201 or a clean 503 with ``Retry-After``, and no
acknowledged write is lost. And in replica mode a read never sees another request's rows
before they commit."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from syncops.devservers import Server, start_sqld, start_turso_sync_server
from tests.live.servers import DemoData, daphnes, manage, prepare_database
from tests.sync.instances import api, sync_env, wait_until

# Enough thoughts that a rebuild takes a while (about a second here) and many reads fall in it.
BULK = """
from spaces.models import Space, Thought
space = Space.objects.get(title="Demo space")
Thought.objects.bulk_create(
    [Thought(space=space, key=f"bulk-{i}", title=f"Bulk {i}", body="x" * 200) for i in range(3000)],
    batch_size=200,
)
"""


@dataclass
class Answer:
    method: str
    started: float  # time.time() at the request's start
    ended: float
    status: int
    body: Any
    retry_after: str | None
    key: str = ""


@dataclass
class Traffic:
    """Two reader threads and one writer thread hitting one instance until stopped."""

    url: str
    demo: DemoData
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def call(self, method: str, path: str, body: Any = None, key: str = "") -> None:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Bearer {self.demo.token}",
                "Content-Type": "application/json",
            },
        )
        started = time.time()
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status, raw, retry = response.status, response.read(), None
        except urllib.error.HTTPError as error:
            status, raw, retry = error.code, error.read(), error.headers.get("Retry-After")
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode(errors="replace")
        self.answers.append(Answer(method, started, time.time(), status, decoded, retry, key))

    def read(self) -> None:
        while not self.stop.is_set():
            self.call("GET", f"/api/spaces/{self.demo.space_id}/thoughts?limit=5")

    def write(self) -> None:
        index = 0
        while not self.stop.is_set():
            key = f"during-{index}"
            self.call(
                "POST",
                f"/api/spaces/{self.demo.space_id}/thoughts",
                {"key": key, "title": key},
                key,
            )
            index += 1
            time.sleep(0.05)

    @contextmanager
    def running(self) -> Iterator[Traffic]:
        self.call("GET", f"/api/spaces/{self.demo.space_id}")  # the first request is slow
        self.answers.clear()
        threads = [threading.Thread(target=self.read) for _ in range(2)]
        threads.append(threading.Thread(target=self.write))
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()


def status_of(url: str, token: str) -> dict:
    status, body = api(url, "GET", "/api/sync/status", token)
    return body if status == 200 else {}


def recovery_window(state: dict) -> tuple[float, float]:
    """When the last recovery ran (its end and its duration are in the status)."""
    ended = datetime.fromisoformat(state["last_recovery_at"]).timestamp()
    duration_ms = float(state["last_recovery"].split("Recovered in ", 1)[1].split(" ms")[0])
    return ended - duration_ms / 1000, ended


def check_answers(traffic: Traffic, window: tuple[float, float], *, refused: bool = False) -> None:
    """Every read answered 200, some of them while the replica was rebuilt; every write
    answered 201 or a clean 503 with ``Retry-After`` (at least one when ``refused``)."""
    reads = [a for a in traffic.answers if a.method == "GET"]
    writes = [a for a in traffic.answers if a.method == "POST"]
    failed = [(a.status, a.body) for a in reads if a.status != 200]
    assert failed == [], f"{len(failed)} of {len(reads)} reads failed, first: {failed[:3]}"
    started, ended = window
    during = [a for a in reads if a.started < ended and a.ended > started]
    assert len(during) >= 3, f"only {len(during)} read(s) overlapped the recovery {window}"
    for answer in writes:
        assert answer.status in (201, 503), (answer.status, answer.body)
        if answer.status == 503:
            assert answer.retry_after and int(answer.retry_after) > 0, answer
            detail = answer.body["detail"]
            assert "error:" not in detail.lower() and "no such table" not in detail, detail
            assert "could not answer this request" not in detail, detail  # says what happens
    assert any(a.status == 201 for a in writes)
    if refused:
        assert any(a.status == 503 for a in writes)


def check_nothing_lost(url: str, demo: DemoData, traffic: Traffic) -> None:
    path = f"/api/spaces/{demo.space_id}/thoughts"
    acknowledged = [a.key for a in traffic.answers if a.method == "POST" and a.status == 201]
    lost = [key for key in acknowledged if api(url, "GET", f"{path}/{key}", demo.token)[0] != 200]
    assert lost == []


def test_reads_answer_from_the_old_copy_while_an_offline_replica_recovers(tmp_path: Path):
    remote_file = tmp_path / "remote" / "remote.db"
    server = start_turso_sync_server(remote_file)
    port = server.port
    a = sync_env(tmp_path, "a", "offline", server.url)
    demo = prepare_database(a)
    manage(a, "shell", "--no-imports", "-c", BULK)
    try:
        with daphnes(a) as (url,):
            wait_until(lambda: status_of(url, demo.token).get("pending_changes") == 0)
            with Traffic(url, demo).running() as traffic:
                time.sleep(0.5)
                server.stop()
                shutil.move(remote_file.parent, tmp_path / "old-remote")
                server = start_turso_sync_server(remote_file, port=port)  # empty, same address
                wait_until(
                    lambda: status_of(url, demo.token).get("recoveries", 0) >= 1,
                    timeout=60,
                    what="the replica to recover",
                )
                time.sleep(1)
            check_answers(traffic, recovery_window(status_of(url, demo.token)))
            check_nothing_lost(url, demo, traffic)
    finally:
        server.stop()


def test_reads_answer_from_the_old_copy_while_an_embedded_replica_recovers(tmp_path: Path):
    server = start_sqld(tmp_path / "sqld")
    port = server.port
    a = sync_env(tmp_path, "a", "replica", server.url)
    demo = prepare_database(a)
    manage(a, "shell", "--no-imports", "-c", BULK)
    try:
        with daphnes(a) as (url,):
            with Traffic(url, demo).running() as traffic:
                time.sleep(0.5)
                server.stop()
                time.sleep(1)  # writes are refused meanwhile (the primary does not answer)
                server = start_sqld(tmp_path / "sqld-new", port=port)  # a new, empty primary
                wait_until(
                    lambda: status_of(url, demo.token).get("recoveries", 0) >= 1,
                    timeout=60,
                    what="the replica to recover",
                )
                time.sleep(1)
            check_answers(traffic, recovery_window(status_of(url, demo.token)), refused=True)
            check_nothing_lost(url, demo, traffic)
    finally:
        server.stop()


ISOLATION = """
import json, threading
from django.contrib.auth.models import User
from django.db import close_old_connections, transaction
from spaces import services
from spaces.models import Space, Thought

space = Space.objects.get(title="Demo space")
user = User.objects.get(username="demo")
opened, read = threading.Event(), threading.Event()
seen = {}

def write():
    with transaction.atomic():
        services.thought_create(space=space, actor=user, key="in-flight", title="In flight")
        opened.set()
        read.wait(10)
    close_old_connections()

def look():
    opened.wait(10)
    seen["during"] = Thought.objects.filter(key="in-flight").exists()
    read.set()
    close_old_connections()

threads = [threading.Thread(target=write), threading.Thread(target=look)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
seen["after"] = Thought.objects.filter(key="in-flight").exists()
print("SEEN", json.dumps(seen))
"""


def test_a_replica_mode_read_never_sees_another_requests_uncommitted_rows(
    sqld_server: Server, tmp_path: Path
):
    a = sync_env(tmp_path, "a", "replica", sqld_server.url)
    prepare_database(a)
    output = manage(a, "shell", "--no-imports", "-c", ISOLATION)
    seen = json.loads(output.split("SEEN", 1)[1])
    assert seen == {"during": False, "after": True}


def test_a_failed_rebuild_keeps_reads_on_the_old_copy_and_refuses_writes_until_retried(
    tmp_path: Path, django_db_blocker: Any
):
    """The primary disappears in the middle of a recovery (after its check, before the
    rebuild): reads answer from the read-only copy, a write is refused at once with a message
    and a delay, and the retried recovery puts everything back."""
    from django.db import OperationalError
    from django.db.utils import ConnectionHandler

    from syncops.recovery import recover
    from syncops.replica import SyncError, forget_replica
    from syncops.runtime import background_sync_paused

    server = start_sqld(tmp_path / "sqld")
    port = server.port
    settings = {"ENGINE": "syncops.backend", "NAME": str(tmp_path / "a" / "ts.db")}
    settings["OPTIONS"] = {"mode": "replica", "sync_url": server.url}
    wrapper = ConnectionHandler({"default": settings})["default"]
    replica = wrapper.replica

    def values() -> list[str]:
        wrapper.close()  # a new connection: the one a new request would get
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT v FROM t ORDER BY v")
            return [row[0] for row in cursor.fetchall()]

    def insert(value: str) -> None:
        with wrapper.cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (%s)", [value])

    failures: list[BaseException] = []

    def recover_in_background() -> None:
        try:
            recover(replica, reason="The remote was reset. Test.")
        except BaseException as exc:
            failures.append(exc)

    try:
        with background_sync_paused(), django_db_blocker.unblock():
            with wrapper.cursor() as cursor:
                cursor.execute("CREATE TABLE t (v TEXT PRIMARY KEY)")
            insert("before")
            replica.write_lock.acquire()  # a long write: the recovery waits after its check
            worker = threading.Thread(target=recover_in_background)
            worker.start()
            wait_until(lambda: not replica.lock.acquire(blocking=False), what="the recovery")
            time.sleep(0.5)  # past its check of the remote
            server.stop()
            replica.write_lock.release()
            worker.join()
            assert len(failures) == 1 and isinstance(failures[0], SyncError), failures
            assert values() == ["before"]  # from the copy of the old files
            server = start_sqld(tmp_path / "sqld-new", port=port)  # a new, empty primary
            started = time.monotonic()
            try:
                insert("refused")
            except OperationalError as exc:
                assert "being rebuilt after the remote was reset" in str(exc), exc
                assert exc.__cause__.retry_after > 0  # type: ignore[union-attr]
            else:
                raise AssertionError("a write went through while the replica was rebuilt")
            assert time.monotonic() - started < 1  # refused at once, not after a wait
            report = recover(replica, reason="retry")
            assert report.reseeded
            insert("after")
            assert values() == ["after", "before"]
            wrapper.close()
            assert not any((tmp_path / "a" / "reading").iterdir())  # the copy is gone
    finally:
        wrapper.close()
        replica.close()
        forget_replica(replica)
        server.stop()
