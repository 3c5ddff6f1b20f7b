"""What every storage mode shares: the ``Replica`` interface (the ``local`` mode itself: a
libSQL file with nothing to sync), the errors of sync, and the remote's epoch check."""

from __future__ import annotations

import encodings.idna  # noqa: F401 - urllib imports it lazily; not from a worker at exit
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


class WriteLock:
    """One writing transaction at a time in this process, where the sync worker never waits
    behind a stream of them.

    A plain lock goes to whichever waiter runs next: under load a pull waiting to apply what
    it had fetched waited behind transaction after transaction (0.4-0.65 s), and the write
    it brought waited with it. Writers pass a turnstile before they queue for the lock; the
    worker (``first``) holds the turnstile while it waits, so it waits at most for the
    writer holding the lock and those already queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turnstile = threading.Lock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        deadline = time.monotonic() + timeout if timeout >= 0 else None
        if not self._turnstile.acquire(blocking, timeout):
            return False
        self._turnstile.release()
        left = -1.0 if deadline is None else max(deadline - time.monotonic(), 0.0)
        return self._lock.acquire(blocking, left if blocking else -1)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    @contextmanager
    def first(self) -> Iterator[None]:
        """Hold the lock, taken ahead of every writer that was not queued yet."""
        with self._turnstile:
            self._lock.acquire()
        try:
            yield
        finally:
            self._lock.release()


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
    # Whether triggers written into the file stay there (the Turso sync engine drops them
    # when a pull rebases the file: its replicas guard deletes with TEMP triggers instead).
    keeps_triggers = True
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
        self.write_lock = WriteLock()  # one writing transaction at a time (offline mode)
        # How long each step of the last push or pull took, in ms (the worker's debug log).
        self.phases_ms: dict[str, float] = {}
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

    def schema_changed(self) -> None:
        """Migrations changed the tables of the file (called after ``migrate``)."""

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

    def abandon_writer(self, connection: Any, *, reason: str) -> None:
        """Drop ``connection``, shared by every writer, on which a transaction could not be
        ended (the caller holds ``write_lock``); only modes that share one do anything."""

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


# Messages of a local file that cannot be read (SQLite's and the Turso engine's wording).
_CORRUPTION = ("file is not a database", "malformed", "corrupt", "not a database")
# Messages of a remote that no longer holds this replica's history.
_DIVERGENCE = ("no such table", "frame", "generation", "wal mismatch", "invalidpush")


def is_corruption(exc: BaseException) -> bool:
    message = str(exc).lower()
    return any(text in message for text in _CORRUPTION)


def is_snapshot_pending(exc: BaseException | str) -> bool:
    """libSQL's embedded replica runs each statement it forwards on the primary, then catches
    up with the primary's log (read-your-writes); this is that catch-up failing because sqld
    compacted its log into a snapshot it cannot serve yet (tursodatabase/libsql#1310, passes
    within seconds). The statement itself reached the primary: libsql's
    ``RemoteConnection::execute_remote`` syncs after the primary's answer, and no libSQL
    version retries this in an embedded replica."""
    return "snapshot not found" in str(exc)


def sync_error(action: str, replica: Replica, exc: Exception) -> SyncError:
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
