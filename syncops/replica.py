"""The four storage modes behind one interface: open connections, push, pull, report.

One ``Replica`` exists per database file per process (``replica_for``): Django's per-thread
connections all come from it, so replication never runs twice in parallel on one file.

- ``local``: a libSQL file; nothing to sync.
- ``replica``: a libSQL embedded replica; writes are forwarded to the primary and the
  replica syncs right after each committed write (read-your-writes) and on a timer.
- ``offline``: a Turso sync-engine file; writes commit locally and a background worker
  pushes them (coalesced) and pulls on a timer; the request thread never waits on the network.
- ``remote``: libSQL over HTTP to the primary; no local file.
"""

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

from syncops import epoch
from syncops.readcopy import ReadCopy
from syncops.remote import RemoteError
from syncops.state import SyncState, redact_url, utc_now

# libSQL's replicator logs every handshake at INFO on stderr; keep warnings and errors only.
os.environ.setdefault("RUST_LOG", "error")

logger = logging.getLogger("syncops")

MODES = ("local", "replica", "offline", "remote")
NETWORK_TIMEOUT = 10.0  # seconds for any one HTTP call to the remote
RECOVERY_WRITE_WAIT = 3.0  # seconds a write waits for a running recovery before it is refused
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


class SyncError(Exception):
    """A push, pull or sync failed; the message says why and what happens next."""


class Diverged(SyncError):
    """The remote no longer holds the history this replica synced with (reset, replaced, or
    a libSQL frame mismatch), or the local file is unreadable: syncing on would mix two
    histories, so the replica must be recovered (syncops.recovery)."""


class RemoteUnavailable(Exception):
    """The primary did not answer its health check: a write or sync would hang."""

    retry_after = 5  # seconds a client should wait before it tries again


class RecoveryInProgress(RemoteUnavailable):
    """The local files are being rebuilt (syncops.recovery): reads answer from a read-only
    copy of the old files, and a write cannot start until the new files are ready."""

    retry_after = 2

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The local replica is being rebuilt after {_sentence(reason)}; reads answer from "
            f"the copy as it was, writes wait for the rebuild. Retry in a few seconds."
        )


def _sentence(reason: str) -> str:
    """The reason of a recovery as a clause: its first sentence, without the final stop."""
    first = reason.split(". ", 1)[0].strip().rstrip(".")
    return first[:1].lower() + first[1:] if first else "a divergence from the remote"


class Replica:
    mode = "local"
    # Whether writing transactions queue on ``write_lock`` (one writer per process).
    serializes_writes = False
    # Whether a query runs only when its rows are fetched (retries must cover the fetch).
    steps_on_fetch = False
    # Whether a PRAGMA sent on one statement holds for the next (not over HTTP).
    keeps_pragmas = True
    # Whether a committed local write can still be lost by sync (syncops.journal keeps it).
    journals = False
    # Whether every thread uses one driver connection (its transaction state is not theirs).
    shares_connections = False
    # Whether reads run on connections of their own, and write transactions (and any other
    # statement that is not a read) on the connection ``writer_for`` gives.
    reads_apart = False

    def __init__(self, path: str, *, url: str | None = None, token: str | None = None) -> None:
        self.path = path
        self.url = url
        self.token = token or ""
        self.state = SyncState(mode=self.mode, remote_url=redact_url(url))
        self.lock = threading.RLock()  # serialises push/pull/sync on this replica
        self.write_lock = threading.Lock()  # one writing transaction at a time (offline mode)
        # Bumped when the local files are rebuilt: connections of an older generation are
        # closed instead of pooled, and a write must not start on one.
        self.generation = 0
        self._generations: dict[int, int] = {}  # id(connection) -> generation it was opened in
        self.seen_epoch: str | None = None  # the remote's epoch, as last written to <db>-epoch
        # While a recovery rebuilds the files, reads go to a copy of the old ones.
        self.read_copy: ReadCopy | None = None
        self._copies: dict[int, ReadCopy] = {}  # id(connection) -> the copy it reads

    @property
    def syncs(self) -> bool:
        return self.mode in ("replica", "offline")

    def connect(self) -> Any:
        import libsql_experimental as libsql

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        return libsql.connect(self.path, isolation_level=None, check_same_thread=False)

    def release(self, connection: Any) -> None:
        """Django is done with ``connection``."""
        if not self._release_read_copy(connection):
            connection.close()

    def before_write(self) -> None:
        """Raise RemoteUnavailable when a write now could not succeed (or would hang)."""

    def writer_for(self, connection: Any) -> Any | None:
        """The driver connection a write transaction of a Django connection reading on
        ``connection`` runs on (the caller holds ``write_lock``); None when ``connection`` was
        opened on files a recovery has since replaced: the caller opens a new one."""
        return connection if self.is_current(connection) else None

    def start_read_copy(self, reason: str) -> None:
        """Send reads to a copy of the files as they are now (writes are stopped), so that
        they keep answering while a recovery rebuilds the files."""
        try:
            self.read_copy = ReadCopy(self.path, reason=reason)
        except OSError as exc:
            logger.warning("No read-only copy of %s for the recovery (%s)", self.path, exc)

    def end_read_copy(self) -> None:
        """The rebuilt files hold everything again: reads go back to them."""
        copy, self.read_copy = self.read_copy, None
        if copy is not None:
            copy.retire()

    def _from_read_copy(self) -> Any | None:
        copy = self.read_copy
        if copy is None:
            return None
        connection = copy.connect()
        if connection is None:
            return None  # the recovery has just finished
        self._copies[id(connection)] = copy
        self._generations[id(connection)] = -1  # never current: no write starts on it
        return connection

    def _release_read_copy(self, connection: Any) -> bool:
        copy = self._copies.pop(id(connection), None)
        if copy is None:
            return False
        self._generations.pop(id(connection), None)
        copy.release(connection)
        return True

    def tag(self, connection: Any) -> Any:
        """Remember that a new driver connection belongs to the current local files."""
        self._generations[id(connection)] = self.generation
        return connection

    def is_current(self, connection: Any) -> bool:
        """Whether ``connection`` was opened on the local files as they are now."""
        return self._generations.get(id(connection), self.generation) == self.generation

    def discard(self, connection: Any) -> None:
        self._generations.pop(id(connection), None)
        connection.close()

    def open_connections(self) -> int:
        """Driver connections opened and not closed yet (where they are tracked: each holds
        a page cache of its own)."""
        return len(self._generations)

    def check_remote(self) -> None:
        """Raise Diverged when the remote is no longer the copy this replica synced with."""
        if not self.syncs:
            return
        with self.lock:
            local = epoch.local(self.epoch_connection())
        compare_epochs(self, local)

    def epoch_connection(self) -> Any:
        """The driver connection the local epoch is read on (syncing replicas)."""
        raise NotImplementedError

    def quarantined(self, folder: Path, error: BaseException) -> None:
        """The local file was unreadable and moved to ``folder``; a new copy is being built."""
        message = (
            f"{self.path} could not be read ({error}); it was moved to {folder} and the "
            "replica rebuilt from the remote; writes journaled here are replayed."
        )
        logger.error("%s", message)
        self.state.update(
            last_recovery=message, recoveries=self.state.recoveries + 1, last_recovery_at=utc_now()
        )

    def raw_connection(self) -> Any:
        """A driver connection for syncops' own maintenance (recovery), current generation."""
        return self.connect()

    def synced_connection(self) -> Any:
        """``raw_connection()`` once the local file holds what the remote holds now: what a
        recovery merges into, and reads back after merging."""
        return self.raw_connection()

    def committed_write(self, connection: Any) -> None:
        """Called by the backend after a transaction that changed rows has committed on
        ``connection`` (the driver connection, still usable)."""

    def push(self) -> None:
        pass

    def pull(self) -> bool:
        return False

    def sync(self) -> None:
        self.push()
        self.pull()

    def pending_changes(self) -> int:
        return 0

    def checkpoint(self, *, min_wal_bytes: int = 0) -> bool:
        """Fold the WAL into the database file when it holds ``min_wal_bytes`` or more; True
        when a checkpoint ran. SQLite and libSQL do it by themselves: nothing to do here."""
        return False

    def close(self) -> None:
        pass


class LibsqlReplica(Replica):
    """Embedded replica of a libSQL primary (sqld or Turso).

    libsql-experimental has no timeouts, and a call to a hung primary holds the GIL: the whole
    process stalls (measured, docs/sync-facts.md). So every call that would reach the primary
    (a write, a sync, opening a connection) is preceded by a bounded health check; when it
    fails, writes are refused at once and reads go on from the local file.
    """

    mode = "replica"
    # One connection per file, shared by every thread: a write forwarded on one connection of a
    # replica file while another connection of the same file syncs destroys the file
    # ("database disk image is malformed"; scripts/probes/libsql_write_sync_race.py), and
    # taking a lock around both does not help; writes and syncs on one connection do not
    # break it. Write transactions and syncs queue on write_lock.
    serializes_writes = True
    shares_connections = True
    # Reads on that connection would see the rows of another thread's open transaction (it
    # runs on the primary); they go to read-only plain libSQL connections of the same file
    # instead, which never broke it (scripts/probes/libsql_plain_readers.py).
    reads_apart = True
    HEALTH_TIMEOUT = 1.0  # seconds; checked before every write (one more round trip)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_connection: Any = None  # the one connection of the file

    def check_primary(self) -> None:
        """Raise RemoteUnavailable unless the primary answers its health check."""
        try:
            with urllib.request.urlopen(
                f"{(self.url or '').rstrip('/')}/health", timeout=self.HEALTH_TIMEOUT
            ) as response:
                response.read()
        except Exception as exc:  # URLError, timeouts, refused: all mean "not now"
            self.state.update(
                status="error", last_error=f"primary unreachable: {exc}", consecutive_failures=1
            )
            raise RemoteUnavailable(
                f"The primary at {self.state.remote_url} did not answer within "
                f"{self.HEALTH_TIMEOUT:g} s ({exc}): writes are refused until it is back; "
                "reads keep working from the local replica."
            ) from exc

    def before_write(self) -> None:
        self.check_primary()
        if self._sync_connection is None and self.read_copy is None:
            # Opened when the primary came back; a recovery holding the lock opens it itself.
            if not self.lock.acquire(timeout=RECOVERY_WRITE_WAIT):
                raise RemoteUnavailable(
                    f"The connection to the primary at {self.state.remote_url} is being set "
                    "up; retry in a few seconds."
                )
            try:
                self._syncer()
            finally:
                self.lock.release()

    def writer_for(self, connection: Any) -> Any | None:
        if not self.is_current(connection):
            return None
        writer = self._sync_connection
        return writer if writer is not None and self.is_current(writer) else None

    def release(self, connection: Any) -> None:
        if self._release_read_copy(connection) or connection is self._sync_connection:
            return  # the shared connection stays open: other threads write on it
        self.discard(connection)

    def connect(self) -> Any:
        """A read-only connection of the replica file (the shared one is for writes)."""
        while True:
            generation = self.generation
            connection = self._read_connection()
            if self.generation == generation or id(connection) in self._copies:
                return connection
            self.release(connection)  # opened as a recovery moved the file: read its copy

    def _read_connection(self) -> Any:
        copy = self._from_read_copy()
        if copy is not None:
            return copy
        if self._sync_connection is None:
            try:
                self.check_primary()
            except RemoteUnavailable as exc:
                if not Path(self.path).exists():
                    raise
                logger.warning("%s Reading %s as it is.", exc, self.path)
                return self._reader()
            with self.lock:
                self._syncer()
            if self.state.pulls == 0:
                try:
                    self.pull()  # a new replica file holds nothing until its first sync
                except SyncError as exc:
                    logger.warning("%s; reading the local copy as it is", exc)
        try:
            return self._reader()
        except Exception:
            # A recovery moved the file away since the check above: read its copy instead.
            copy = self._from_read_copy()
            if copy is None:
                raise
            return copy

    def _reader(self) -> Any:
        import libsql_experimental as libsql

        # SQLITE_OPEN_READONLY, not just query_only: a read-only connection never checkpoints
        # or deletes the -wal when it closes, even on files a recovery has moved away.
        return self.tag(
            libsql.connect(
                Path(self.path).resolve().as_uri() + "?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        )

    def _open_replica(self) -> Any:
        import libsql_experimental as libsql

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        return libsql.connect(
            self.path,
            sync_url=self.url,
            auth_token=self.token,
            isolation_level=None,
            check_same_thread=False,
        )

    def _syncer(self) -> Any:
        """The file's one connection, opened on first use (the caller holds ``self.lock``)."""
        if self._sync_connection is None:
            try:
                self._sync_connection = self.tag(self._open_replica())
                self._sync_connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()
            except Exception as exc:
                self._sync_connection = None
                if not is_corruption(exc):
                    raise
                from syncops.recovery import quarantine

                folder = quarantine(self.path, reason=f"the local file could not be read: {exc}")
                self.quarantined(folder, exc)
                self._sync_connection = self.tag(self._open_replica())
        return self._sync_connection

    def raw_connection(self) -> Any:
        with self.lock:
            self.check_primary()
            return self._syncer()

    def synced_connection(self) -> Any:
        # A new replica file holds nothing until it syncs, and writes are forwarded to the
        # primary: without this sync a merge would create tables the primary already has
        # (refused: "table ... already exists") and not see the rows it wrote. The caller
        # holds write_lock, so this syncs directly rather than through pull().
        connection = self.raw_connection()
        connection.sync()
        return connection

    def epoch_connection(self) -> Any:
        return self._syncer()

    def pull(self, *, check: bool = True) -> bool:
        started = time.perf_counter()
        with self.lock:
            try:
                self.check_primary()
                if check:
                    self.check_remote()
                with self.write_lock:  # never in the middle of a write transaction
                    self._syncer().sync()
            except Exception as exc:
                self.state.record("pull", started, exc)
                raise _sync_error("Sync with", self, exc) from exc
        self.state.record("pull", started)
        return True

    def push(self) -> None:
        pass  # writes are forwarded to the primary as they happen

    def committed_write(self, connection: Any) -> None:
        # Read-your-writes: the local file holds the forwarded write before the response.
        # (The remote's epoch is checked by the background pulls, not on every write.)
        try:
            self.pull(check=False)
        except SyncError as exc:
            logger.warning("%s", exc)

    def close(self) -> None:
        with self.lock:
            self.generation += 1
            self.seen_epoch = None
            if self._sync_connection is not None:
                self.discard(self._sync_connection)
            self._sync_connection = None


class RemoteReplica(Replica):
    """No local file: every statement goes to the primary over HTTP."""

    mode = "remote"
    keeps_pragmas = False
    # Over a slow link, two writing transactions of one process (a request and the
    # embedding worker) contended on the primary until one timed out: queue them here.
    serializes_writes = True

    def connect(self) -> Any:
        import libsql_experimental as libsql

        return libsql.connect(
            self.url, auth_token=self.token, isolation_level=None, check_same_thread=False
        )


class TursoReplica(Replica):
    """A Turso sync-engine replica: local writes, pushed and pulled by a background worker."""

    mode = "offline"
    serializes_writes = True
    steps_on_fetch = True
    journals = True

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

    def _open(self) -> None:
        import turso.lib_sync as lib_sync

        _bound_turso_network_calls(lib_sync)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            first = self._connect_sync(lib_sync)
        except Exception as exc:
            if not is_corruption(exc):
                raise
            from syncops.recovery import quarantine

            folder = quarantine(self.path, reason=f"the local file could not be opened: {exc}")
            self.quarantined(folder, exc)
            first = self._connect_sync(lib_sync)
        first.execute("PRAGMA busy_timeout = 5000")
        first.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        _ensure_tombstones(first)
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
        with self.lock:
            try:
                journal.capture(self._sync_connection, path=self.path)  # first: no network
                self.check_remote()
                carried = journal.committed_ids()  # committed before the push: it carries them
                self._sync_connection.push()
            except Exception as exc:
                self.state.record("push", started, exc)
                raise _sync_error("Push to", self, exc) from exc
            self.state.record("push", started)
            journal.mark_pushed(carried)
            self._refresh_stats()
            self.checkpoint(min_wal_bytes=CHECKPOINT_WAL_BYTES)

    def pull(self) -> bool:
        from syncops import journal
        from syncops.signals import pulled

        self._ensure_open_for_sync()
        started = time.perf_counter()
        with self.lock:
            try:
                journal.capture(self._sync_connection, path=self.path)  # before a pull rebases
                self.check_remote()
                changed = self._pull_then_apply()
            except Exception as exc:
                self.state.record("pull", started, exc)
                raise _sync_error("Pull from", self, exc) from exc
            self.state.record("pull", started)
            self._refresh_stats()
            self.checkpoint(min_wal_bytes=CHECKPOINT_WAL_BYTES)
        pulled.send(sender=type(self), replica=self, changed=changed)
        return changed

    def _pull_then_apply(self) -> bool:
        """``ConnectionSync.pull`` in its two phases: fetch the remote's changes (network, no
        lock), then apply them under the process's write lock, so that applying never races
        a request's transaction and no request ever waits on the network."""
        import turso.lib_sync as lib_sync

        database, http = self._database, self._http
        changes = lib_sync._run_op(database, database.wait_changes(), http)
        if changes is None or changes.empty():
            return False
        from syncops import journal

        with self.write_lock:
            # What was written since the pull began is journaled before the log is rewritten.
            journal.capture(self._sync_connection, path=self.path)
            lib_sync._run_op(database, database.apply_changes(changes), http)
            # Applying rewrote the engine's change log and dropped the local triggers; no
            # local write is in between.
            journal.skip_to_end(self._sync_connection, path=self.path)
            _ensure_tombstones(self._sync_connection)
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
                with self.write_lock:
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
        from syncops import journal

        # Journaled at once, outside the file: a file that breaks before the next sync must
        # not take the write with it. The worker's captures find it there otherwise.
        try:
            journal.capture(connection, path=self.path)
        except Exception:
            logger.exception("Could not journal a write now; the next sync will")
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


def _ensure_tombstones(connection: Any) -> None:
    """The tombstone triggers on the tables this file has (syncops.tombstones)."""
    from django.apps import apps

    from syncops import tombstones

    if not apps.ready:
        return
    existing = {
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        ).fetchall()
    }
    if existing:
        tombstones.ensure(connection.execute, existing)


# Messages of a local file that cannot be read (SQLite's and the Turso engine's wording).
_CORRUPTION = ("file is not a database", "malformed", "corrupt", "not a database")
# Messages of a remote that no longer holds this replica's history.
_DIVERGENCE = ("no such table", "frame", "generation", "wal mismatch", "invalidpush")


def is_corruption(exc: BaseException) -> bool:
    message = str(exc).lower()
    return any(text in message for text in _CORRUPTION)


def _sync_error(action: str, replica: Replica, exc: Exception) -> SyncError:
    """The error a failed push or pull raises: Diverged when recovery is the way out."""
    if isinstance(exc, SyncError):
        return exc
    message = f"{action} {replica.state.remote_url} failed: {exc}"
    lowered = str(exc).lower()
    if is_corruption(exc) or any(text in lowered for text in _DIVERGENCE):
        return Diverged(message)
    return SyncError(message)


def compare_epochs(replica: Replica, local: str | None) -> None:
    """Raise Diverged when the remote's epoch shows it is not the copy ``replica`` synced with.

    The epoch this replica last saw on the remote is kept in ``<db>-epoch`` (quarantined with
    the replica's files): a remote that never had this replica's data yet (a first push) is
    not a divergence."""
    if local is None or replica.url is None:
        return
    try:
        found = epoch.remote(replica.url, replica.token)
    except RemoteError as exc:
        raise SyncError(f"Cannot reach {replica.state.remote_url}: {exc}") from exc
    marker = Path(f"{replica.path}-epoch")
    if found == local:
        if replica.seen_epoch != local:  # written when it changes, not on every sync
            marker.write_text(local + "\n")
            replica.seen_epoch = local
        return
    seen = marker.read_text().strip() if marker.exists() else None
    if seen is None:
        return  # the remote has not had this replica's data yet
    if found is None:
        raise Diverged(
            f"The remote {replica.state.remote_url} no longer holds the data this replica "
            f"synced with (epoch {seen}): it was reset."
        )
    raise Diverged(
        f"The remote {replica.state.remote_url} now holds another copy of the data (epoch "
        f"{found}; this replica synced with {seen}): it was replaced or reseeded."
    )


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


_REPLICAS: dict[tuple[str, str], Replica] = {}
_REPLICAS_LOCK = threading.Lock()
_CLASSES: dict[str, type[Replica]] = {
    "local": Replica,
    "replica": LibsqlReplica,
    "offline": TursoReplica,
    "remote": RemoteReplica,
}


def replica_for(settings_dict: dict[str, Any]) -> Replica:
    """The process's one Replica for a database's settings."""
    options = settings_dict.get("OPTIONS", {})
    mode = options.get("mode", "local")
    key = (mode, str(settings_dict["NAME"]))
    with _REPLICAS_LOCK:
        replica = _REPLICAS.get(key)
        if replica is None:
            replica = _CLASSES[mode](
                str(settings_dict["NAME"]),
                url=options.get("sync_url"),
                token=options.get("auth_token"),
            )
            _REPLICAS[key] = replica
        return replica


def forget_replica(replica: Replica) -> None:
    """Drop a closed replica so that the next connection opens its files afresh."""
    with _REPLICAS_LOCK:
        for key, value in list(_REPLICAS.items()):
            if value is replica:
                del _REPLICAS[key]


def all_replicas() -> list[Replica]:
    with _REPLICAS_LOCK:
        return list(_REPLICAS.values())
