"""``offline`` mode: a Turso sync-engine file; writes commit locally and a background worker
pushes them (coalesced) and pulls on a timer; the request thread never waits on the network."""

from __future__ import annotations

import encodings.idna  # noqa: F401 - urllib imports it lazily; not from a worker at exit
import functools
import logging
import os
import threading
import time
import types
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from syncops import tombstones
from syncops.quarantine import quarantine
from syncops.replica.base import (
    NETWORK_TIMEOUT,
    Replica,
    SyncError,
    is_corruption,
    sync_error,
)
from syncops.state import utc_now

logger = logging.getLogger("syncops")

POOL_SIZE = 8  # connections opened up front for an offline replica
# The Turso sync engine turns SQLite's automatic checkpoints off and leaves them to the
# application: without one the -wal file grew by ~7 MiB per 1,000 small writes, forever.
CHECKPOINT_WAL_BYTES = 4 * 2**20  # checkpoint after a push or pull once the WAL is this big
CHECKPOINT_BUSY_RETRIES = 20  # an open read transaction makes a checkpoint fail "busy"
# Each Turso connection has a page cache of its own, 2,000 pages (8 MiB) unless told, and the
# pool keeps up to POOL_SIZE * 4 of them: RSS grew with the database until every cache was
# full. An explicit size (KiB) caps it (9 connections scanning a 39 MiB file: +74 MiB of RSS
# by default, +17 MiB with -2000; `scripts/probes/turso_memory.py cache`).
PAGE_CACHE_KIB = 2000


class TursoReplica(Replica):
    """A Turso sync-engine replica: local writes, pushed and pulled by a background worker."""

    mode = "offline"
    serializes_writes = True
    steps_on_fetch = True
    journals = True
    keeps_triggers = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._database: Any = None
        self._http: Any = None
        self._sync_connection: Any = None
        self._open_lock = threading.Lock()  # opening is separate from syncing: never wait on I/O
        # Opening a connection queues behind a running push inside the engine, so requests
        # take connections from a pool filled before any push starts, and give them back.
        self._idle: list[Any] = []
        self._idle_lock = threading.Lock()
        self.scheduler: Any = None
        # The tables whose deletes leave tombstones (syncops.tombstones), and the ones each
        # writing connection has TEMP triggers for: compared by identity before each write.
        self._guards: frozenset[tuple[str, str]] = frozenset()
        self._guarded: dict[int, frozenset[tuple[str, str]]] = {}

    def _open(self) -> None:
        import turso.lib_sync as lib_sync

        _bound_turso_network_calls(lib_sync)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            first = self._connect_sync(lib_sync)
        except Exception as exc:
            if not is_corruption(exc):
                raise
            folder = quarantine(self.path, reason=f"the local file could not be opened: {exc}")
            self.quarantined(folder, exc)
            first = self._connect_sync(lib_sync)
        first.execute("PRAGMA busy_timeout = 5000")
        first.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        self._watch_schema(first)
        self._database, self._http = first._sync, first._http_ctx
        self._sync_connection = first  # the worker's own connection
        self._idle = [self._new_connection() for _ in range(POOL_SIZE)]

    def _connect_sync(self, lib_sync: types.ModuleType) -> Any:
        connection = lib_sync.connect_sync(
            self.path,
            remote_url=self.url,
            auth_token=self.token or None,
            client_name=f"thoughtspace-{os.getpid()}",
            isolation_level=None,
        )
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()  # reads page 1
        return connection

    def _new_connection(self) -> Any:
        import turso.lib_sync as lib_sync

        # Opening while other connections write can fail with "database is busy": retry.
        deadline, delay = time.monotonic() + 10, 0.005
        while True:
            try:
                raw = lib_sync._run_op(self._database, self._database.connect(), self._http)
                break
            except Exception as exc:
                if "busy" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        connection = lib_sync.ConnectionSync(
            raw, sync=self._database, http_ctx=self._http, isolation_level=None
        )
        connection.execute("PRAGMA busy_timeout = 5000")
        connection.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        # Local writes keep their references whole (the engine enforces deferred keys); rows
        # pulled from another replica may still refer to a row deleted here, which
        # syncops.reconcile repairs. The worker's own connection merges without them.
        connection.execute("PRAGMA foreign_keys = ON")
        return self.tag(connection)

    def writer_for(self, connection: Any) -> Any | None:
        """``connection`` itself (when current), with the TEMP triggers that record its
        deletes (syncops.tombstones) for every table of the file."""
        if not self.is_current(connection):
            return None
        guards = self._guards
        has = self._guarded.get(id(connection), frozenset())
        if has is not guards:
            for sql in tombstones.triggers(guards - has, temp=True):
                connection.execute(sql)
            self._guarded[id(connection)] = guards
        return connection

    def schema_changed(self) -> None:
        if self._sync_connection is not None:
            with self.lock:
                self._watch_schema(self._sync_connection)

    def _watch_schema(self, connection: Any) -> None:
        """Read which tables the file has; writing connections add triggers for new ones."""
        names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        guards = tombstones.guarded(name for (name,) in names.fetchall())
        if guards != self._guards:
            self._guards = guards

    def discard(self, connection: Any) -> None:
        self._guarded.pop(id(connection), None)
        super().discard(connection)

    def connect(self) -> Any:
        while True:
            generation = self.generation
            copy = self._from_read_copy()
            if copy is not None:
                return copy
            connection = self._pooled()
            if connection is not None and self.generation == generation:
                return connection
            if connection is not None:  # a recovery began meanwhile: read its copy
                self.release(connection)

    def _pooled(self) -> Any | None:
        """A connection of the current files; None when a recovery is rebuilding them."""
        if not self._ensure_open(for_reads=True):
            return None
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        # Opening a connection while a push waits for the remote's answer was seen to stall
        # both for good (docs/RELIABILITY.md): open new ones between syncs only.
        with self.lock:
            return self._new_connection() if self._database is not None else None

    def raw_connection(self) -> Any:
        self._ensure_open()
        return self._sync_connection

    def release(self, connection: Any) -> None:
        """Take back a connection Django is done with (instead of closing it)."""
        if self._release_read_copy(connection):
            return
        if connection.in_transaction:
            connection.rollback()
        with self._idle_lock:
            if self.is_current(connection) and len(self._idle) < POOL_SIZE * 4:
                self._idle.append(connection)
                return
        self.discard(connection)

    def _ensure_open(self, *, for_reads: bool = False) -> bool:
        """Open the files unless they are; for reads, not while a recovery rebuilds them."""
        if self._database is not None:
            return True
        with self._open_lock:
            if self._database is None:
                if for_reads and self.read_copy is not None:
                    return False
                self._open()
        return True

    def _ensure_open_for_sync(self) -> None:
        try:
            self._ensure_open()
        except Exception as exc:
            raise SyncError(f"Cannot open the offline replica {self.path}: {exc}") from exc

    def epoch_connection(self) -> Any:
        return self._sync_connection

    def push(self) -> None:
        from syncops import journal

        self._ensure_open_for_sync()
        started = time.perf_counter()
        self.phases_ms = {}
        with self.lock:
            self._phase("lock", started)
            try:
                mark = time.perf_counter()
                journal.capture(self._sync_connection, path=self.path)  # first: no network
                self._phase("capture", mark)
                mark = time.perf_counter()
                self.check_remote()
                self._phase("check", mark)
                carried = journal.committed_ids()  # committed before the push: it carries them
                mark = time.perf_counter()
                self._sync_connection.push()
                self._phase("push", mark)
            except Exception as exc:
                self.state.record("push", started, exc)
                raise sync_error("Push to", self, exc) from exc
            self.state.record("push", started)
            mark = time.perf_counter()
            journal.mark_pushed(carried)
            self._phase("journal", mark)
            mark = time.perf_counter()
            self._refresh_stats()
            self.checkpoint(min_wal_bytes=CHECKPOINT_WAL_BYTES)
            self._phase("checkpoint", mark)

    def pull(self) -> bool:
        from syncops import journal
        from syncops.signals import pulled

        self._ensure_open_for_sync()
        started = time.perf_counter()
        self.phases_ms = {}
        with self.lock:
            try:
                journal.capture(self._sync_connection, path=self.path)  # before a pull rebases
                self.check_remote()
                self._phase("check", started)
                changed = self._pull_then_apply()
            except Exception as exc:
                self.state.record("pull", started, exc)
                raise sync_error("Pull from", self, exc) from exc
            self.state.record("pull", started)
            mark = time.perf_counter()
            self._refresh_stats()
            self.checkpoint(min_wal_bytes=CHECKPOINT_WAL_BYTES)
            self._phase("checkpoint", mark)
        mark = time.perf_counter()
        pulled.send(sender=type(self), replica=self, changed=changed)
        self._phase("after", mark)
        return changed

    def _phase(self, name: str, since: float) -> None:
        self.phases_ms[name] = round((time.perf_counter() - since) * 1000, 1)

    def _pull_then_apply(self) -> bool:
        """``ConnectionSync.pull`` in its two phases: fetch the remote's changes (network, no
        lock), then apply them under the process's write lock, so that applying never races
        a request's transaction and no request ever waits on the network."""
        import turso.lib_sync as lib_sync

        database, http = self._database, self._http
        mark = time.perf_counter()
        changes = lib_sync._run_op(database, database.wait_changes(), http)
        self._phase("fetch", mark)
        if changes is None or changes.empty():
            return False
        from syncops import journal

        mark = time.perf_counter()
        with self.write_lock.first():
            self._phase("lock", mark)
            mark = time.perf_counter()
            # What was written since the pull began is journaled before the log is rewritten.
            journal.capture(self._sync_connection, path=self.path)
            lib_sync._run_op(database, database.apply_changes(changes), http)
            # Applying rewrote the engine's change log; no local write is in between. It may
            # have brought tables another process migrated.
            journal.skip_to_end(self._sync_connection, path=self.path)
            self._watch_schema(self._sync_connection)
            self._phase("apply", mark)
        return True

    def _refresh_stats(self) -> None:
        """Read the engine's counters; the caller holds ``self.lock`` (one user at a time)."""
        try:
            stats = self._sync_connection.stats()
        except Exception:  # stats are informative; a failure here must not fail a sync
            return
        self.state.update(pending_changes=int(stats.cdc_operations), revision=str(stats.revision))

    def pending_changes(self) -> int:
        """Local changes not yet pushed; the last known count while a sync is running."""
        if self.read_copy is not None:
            return self.state.pending_changes  # the files are being rebuilt: do not open them
        self._ensure_open()
        if self.lock.acquire(blocking=False):
            try:
                self._refresh_stats()
            finally:
                self.lock.release()
        return self.state.pending_changes

    def wal_bytes(self) -> int:
        """The size of the replica's -wal file (0 when there is none)."""
        try:
            return os.stat(f"{self.path}-wal").st_size
        except OSError:
            return 0

    def checkpoint(self, *, min_wal_bytes: int = 0) -> bool:
        """Checkpoint through the engine (``ConnectionSync.checkpoint``), which also keeps its
        revert log consistent, and truncates the -wal file. Taken under ``lock`` and
        ``write_lock``: never during a push, a pull or a request's write transaction. A read
        transaction still open elsewhere makes it fail "busy": it is retried briefly, then
        left for the next push, pull or timer. Failures are logged, never raised."""
        if self._database is None or self.wal_bytes() < max(min_wal_bytes, 1):
            return False
        started, error = time.perf_counter(), None
        with self.lock:
            for attempt in range(CHECKPOINT_BUSY_RETRIES):
                with self.write_lock.first():
                    try:
                        self._sync_connection.checkpoint()
                        error = None
                    except Exception as exc:
                        error = exc
                if error is None:
                    duration_ms = round((time.perf_counter() - started) * 1000, 2)
                    self.state.update(
                        checkpoints=self.state.checkpoints + 1,
                        last_checkpoint_at=utc_now(),
                        last_checkpoint_ms=duration_ms,
                    )
                    return True
                if "busy" not in str(error).lower():
                    break
                time.sleep(0.005 * (attempt + 1))  # outside write_lock: let writers through
        logger.warning(
            "Checkpoint of %s failed (%s); the WAL (%d bytes) is checkpointed after the next "
            "push or pull.",
            self.path,
            error,
            self.wal_bytes(),
        )
        return False

    def committed_write(self, connection: Any) -> None:
        self.state.update(pending_changes=self.state.pending_changes + 1)
        if self.scheduler is not None:
            self.scheduler.notify_write()

    def close(self) -> None:
        with self.lock, self._idle_lock:
            self.generation += 1
            self.seen_epoch = None
            for connection in [*self._idle, self._sync_connection]:
                if connection is not None:
                    self.discard(connection)
            self._idle = []
            self._database = self._sync_connection = None


def _bound_turso_network_calls(lib_sync: types.ModuleType) -> None:
    """Give every HTTP call of pyturso's sync engine a timeout.

    pyturso's IO loop calls ``urllib.request.urlopen`` without one, so a hung server blocks a
    push forever. The module's own ``urllib`` reference is replaced; nothing else changes.
    """
    if getattr(lib_sync.urllib, "thoughtspace_bounded", False):  # type: ignore[attr-defined]
        return
    lib_sync.urllib = types.SimpleNamespace(  # type: ignore[attr-defined]
        request=types.SimpleNamespace(
            Request=urllib.request.Request,
            urlopen=functools.partial(urllib.request.urlopen, timeout=NETWORK_TIMEOUT),
        ),
        error=urllib.error,
        thoughtspace_bounded=True,
    )
