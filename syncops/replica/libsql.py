"""``replica`` mode: a libSQL embedded replica; writes are forwarded to the primary and the
replica syncs right after each committed write (read-your-writes) and on a timer."""

from __future__ import annotations

import encodings.idna  # noqa: F401 - urllib imports it lazily; not from a worker at exit
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from syncops.quarantine import quarantine
from syncops.replica.base import (
    RECOVERY_WRITE_WAIT,
    RemoteUnavailable,
    Replica,
    SyncError,
    is_corruption,
    is_snapshot_pending,
    sync_error,
)

logger = logging.getLogger("syncops")


class LibsqlReplica(Replica):
    """Embedded replica of a libSQL primary (sqld or Turso).

    Write transactions run on the local file and reach the primary as one batch
    (syncops.backend.batch), with a timeout of its own; the replica then syncs. libsql-
    experimental has no timeouts, and a call to a hung primary holds the GIL: the whole process
    stalls (measured, docs/sync-facts.md). So its calls that are not right after a batch the
    primary answered (the timer's sync, opening the file) are preceded by a bounded health
    check; when the primary does not answer, writes are refused and reads go on from the file.
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
    HEALTH_TIMEOUT = 1.0  # seconds; checked before a sync that no batch just preceded
    CATCH_UP_WAIT = 5.0  # seconds a write waits for a snapshot sqld cannot serve yet

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_connection: Any = None  # the one connection of the file
        self._writer: Any = None  # the BatchWriter of write transactions
        self._behind = False  # a write committed and the sync after it failed

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
        if self._sync_connection is None and self.read_copy is None:
            # Opened when the primary came back; a recovery holding the lock opens it itself.
            self.check_primary()
            if not self.lock.acquire(timeout=RECOVERY_WRITE_WAIT):
                raise RemoteUnavailable(
                    f"The connection to the primary at {self.state.remote_url} is being set "
                    "up; retry in a few seconds."
                )
            try:
                connection = self._syncer()
                if self.state.pulls == 0:  # a write is decided on the file: it needs the rows
                    started = time.perf_counter()
                    connection.sync()
                    self.state.record("pull", started)
            finally:
                self.lock.release()

    def writer_for(self, connection: Any) -> Any | None:
        if not self.is_current(connection) or self._sync_connection is None:
            return None
        if self._writer is None or not self.is_current(self._writer):
            from syncops.backend.batch import BatchWriter
            from syncops.replica.hrana import HranaClient

            local = self._open_local()
            self._writer = self.tag(
                BatchWriter(
                    local,
                    HranaClient(self.url or "", self.token),
                    synced=self._catch_up,
                    check=self.check_primary,
                    state=self.state,
                )
            )
        return self._writer

    def _open_local(self) -> Any:
        import libsql_experimental as libsql

        return libsql.connect(self.path, isolation_level=None, check_same_thread=False)

    def _catch_up(self) -> None:
        """Sync right after a batch the primary answered (the caller holds write_lock), so
        the response reads what it wrote. Failing, the write stands: ``committed_write`` waits
        for the sync outside the lock."""
        started = time.perf_counter()
        connection = self._sync_connection
        try:
            if connection is None:
                raise SyncError("the connection to the primary was closed")
            connection.sync()
        except Exception as exc:
            self.state.record("pull", started, exc)
            self._behind = True
            logger.info("The sync after a write failed, tried again: %s", exc)
            return
        self.state.record("pull", started)
        self._behind = False

    def abandon_writer(self, connection: Any, *, reason: str) -> None:
        # Under write_lock only: pull() takes self.lock first, then write_lock, so taking
        # self.lock here could deadlock. Every user of the shared connection reads
        # self._sync_connection under write_lock, or opens it again through _syncer().
        if connection is not None and connection is self._writer:
            connection.rollback()  # a batch leaves nothing open on the primary
            return
        if connection is None or connection is not self._sync_connection:
            return
        self._sync_connection = None
        try:
            self.discard(connection)
        except Exception as exc:  # closing a broken connection may fail as well
            logger.warning("Closing the abandoned connection to the primary failed: %s", exc)
        logger.warning(
            "Dropped the connection writes share with the primary (%s); the next write opens "
            "another",
            reason,
        )

    def release(self, connection: Any) -> None:
        if self._release_read_copy(connection) or connection in (
            self._sync_connection,
            self._writer,
        ):
            return  # the shared connections stay open: other threads write on them
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
                with self.write_lock.first():  # never in the middle of a write transaction
                    self._syncer().sync()
            except Exception as exc:
                self.state.record("pull", started, exc)
                raise sync_error("Sync with", self, exc) from exc
        self.state.record("pull", started)
        return True

    def push(self) -> None:
        pass  # writes are forwarded to the primary as they happen

    def committed_write(self, connection: Any) -> None:
        """Read-your-writes: the batch's commit synced the file already (``_catch_up``). When
        that sync failed, a snapshot sqld cannot serve yet is waited for, up to
        ``CATCH_UP_WAIT`` seconds; after that the write stands and the timer's pulls bring it.
        (The remote's epoch is checked by the background pulls, not on every write.)"""
        if not self._behind:
            return
        deadline = time.monotonic() + self.CATCH_UP_WAIT
        delay = 0.1
        while True:
            try:
                self.pull(check=False)
                self._behind = False
                return
            except SyncError as exc:
                if not is_snapshot_pending(exc) or time.monotonic() + delay > deadline:
                    logger.warning("%s", exc)
                    return
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def close(self) -> None:
        with self.lock:
            self.generation += 1
            self.seen_epoch = None
            if self._writer is not None:  # first: never the file's last connection to close
                self._writer.client.close()
                self.discard(self._writer)
                self._writer = None
            if self._sync_connection is not None:
                self.discard(self._sync_connection)
            self._sync_connection = None
